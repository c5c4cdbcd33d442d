// Injected by tools/check-book.sh into a copy of each built page, run by headless Chromium.
// It measures the page as a reader's browser lays it out and writes one line,
//   CHECK math=<n> math_no_box=<n> mathml_native=<0|1> fractions=<n> fractions_flat=<n>
//         raw_dollar=<n> raw_tag=<n> math_garbled=<n> pre_overflow=<n> table_overflow=<n> page_overflow=<0|1>
// followed by one DETAIL line per problem, into <pre id="book-check">, which --dump-dom prints.
window.addEventListener("load", () => {
  document.fonts.ready.then(() => {
    const main = document.querySelector("main") || document.body;
    const details = [];
    const short = (s) => s.replace(/\s+/g, " ").trim().slice(0, 80);

    // Formulas: rendered by the browser as MathML, each with a box of its own.
    const maths = [...main.querySelectorAll("math")];
    const noBox = maths.filter((m) => {
      const r = m.getBoundingClientRect();
      return r.width <= 0 || r.height <= 0;
    });
    noBox.forEach((m) => details.push(`math without a box: ${short(m.textContent)}`));
    const native = typeof MathMLElement !== "undefined" &&
      maths.every((m) => m instanceof MathMLElement);
    // A formula shows no TeX and no tag: a backslash or "<m" in its visible text (its TeX source
    // in <annotation> is not shown) means Markdown changed the renderer's output.
    const garbled = maths.filter((m) => {
      const shown = [...m.querySelectorAll(":not(annotation)")]
        .flatMap((el) => [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE))
        .map((n) => n.textContent).join("");
      return shown.includes("\\") || /<\/?m[a-z]/.test(shown);
    });
    garbled.forEach((m) => details.push(`garbled math: ${short(m.textContent)}`));
    // A fraction the browser really lays out puts its numerator above its denominator.
    const fractions = [...main.querySelectorAll("mfrac")];
    const flat = fractions.filter((f) => {
      const [num, den] = f.children;
      return !num || !den ||
        num.getBoundingClientRect().bottom > den.getBoundingClientRect().top + 1;
    });
    flat.forEach((f) => details.push(`fraction not stacked: ${short(f.textContent)}`));

    // Text a reader sees outside code and math: a dollar sign there is math left unrendered.
    const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT, {
      acceptNode: (n) => n.parentElement.closest("code, pre, math, script, style, #book-check")
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
    });
    // A MathML tag printed as text means Markdown did not take the renderer's output as HTML.
    let rawDollar = 0;
    let rawTag = 0;
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.textContent.includes("$")) {
        rawDollar += 1;
        details.push(`raw dollar in text: ${short(n.textContent)}`);
      }
      if (/<\/?m[a-z]+[\s>]/.test(n.textContent)) {
        rawTag += 1;
        details.push(`MathML tag as text: ${short(n.textContent)}`);
      }
    }

    // Listings and tables fit the column: nothing scrolls sideways.
    const wider = (el) => el.scrollWidth > el.clientWidth + 1;
    // (mdBook scrolls a listing in its <code>, inside the <pre>: check both)
    const pres = [...main.querySelectorAll("pre")].filter((p) =>
      wider(p) || [...p.querySelectorAll(":scope > code")].some(wider));
    pres.forEach((p) => details.push(
      `listing wider than its box: ${short(p.textContent)}`));
    const tables = [...main.querySelectorAll(".table-wrapper, table")].filter(wider);
    tables.forEach((t) => details.push(
      `table ${t.scrollWidth}px in ${t.clientWidth}px: ${short(t.textContent)}`));

    // ... and the page itself does not scroll sideways in the window.
    const page = document.scrollingElement;
    const pageOverflow = page.scrollWidth > page.clientWidth + 1 ? 1 : 0;
    if (pageOverflow) details.push(`page ${page.scrollWidth}px in a ${page.clientWidth}px window`);

    const out = document.createElement("pre");
    out.id = "book-check";
    out.textContent = [
      `CHECK math=${maths.length} math_no_box=${noBox.length} mathml_native=${native ? 1 : 0}` +
        ` fractions=${fractions.length} fractions_flat=${flat.length} raw_dollar=${rawDollar}` +
        ` raw_tag=${rawTag} math_garbled=${garbled.length}` +
        ` pre_overflow=${pres.length} table_overflow=${tables.length} page_overflow=${pageOverflow}`,
      ...details.map((d) => `DETAIL ${d}`),
    ].join("\n");
    document.body.appendChild(out);
  });
});
