//! Short stories about a small world, written by a seeded grammar: the corpus of the model this
//! project ships.
//!
//! A dozen children, their pets, their toys and a few places; every story is an introduction,
//! a trip, one event (a lost toy, a friend who wants to share, an animal in trouble, rain, a
//! thing to make) with a little dialogue, and an ending. Each slot has several wordings, so the
//! number of different stories is astronomically larger than the number generated: a model
//! cannot memorise them whole, it has to learn the grammar (who "she" is, which toy was lost,
//! that a question gets an answer). The vocabulary is a few hundred words, small enough that a
//! model of a few MB learns it in minutes.

use shared::Rng;

// ANCHOR: world
/// A child of the world, with the pronouns the grammar needs.
struct Child {
    name: &'static str,
    kind: &'static str, // "girl" or "boy"
    he: &'static str,   // "she" / "he"
    his: &'static str,  // "her" / "his"
    him: &'static str,  // "her" / "him"
}

const fn girl(name: &'static str) -> Child {
    Child { name, kind: "girl", he: "she", his: "her", him: "her" }
}
const fn boy(name: &'static str) -> Child {
    Child { name, kind: "boy", he: "he", his: "his", him: "him" }
}

const CHILDREN: &[Child] = &[
    girl("Mia"), girl("Lily"), girl("Anna"), girl("Sara"), girl("Emma"), girl("Zoe"), girl("Lucy"), girl("Nora"),
    boy("Tom"), boy("Ben"), boy("Sam"), boy("Leo"), boy("Max"), boy("Jack"), boy("Tim"), boy("Finn"),
];
const ANIMALS: &[&str] = &["cat", "dog", "bird", "rabbit", "duck", "fox", "frog", "bear", "mouse", "horse", "owl", "turtle"];
const TOYS: &[&str] = &["ball", "kite", "book", "hat", "boat", "box", "drum", "car", "doll", "balloon", "shell", "whistle"];
const COLOURS: &[&str] = &["red", "blue", "green", "yellow", "big", "small", "shiny", "old", "new", "soft", "little", "pink"];
const TRAITS: &[&str] = &["happy", "kind", "curious", "brave", "shy", "funny", "clever", "little", "busy", "gentle"];
const PLACES: &[&str] = &["park", "garden", "beach", "forest", "river", "farm", "hill", "lake", "market", "school"];
/// Where a lost thing can be, and where a child looks.
const SPOTS: &[&str] = &["tree", "bench", "rock", "bush", "fence", "table", "bridge", "flowers", "sand", "door"];
const LIKES: &[&str] = &[
    "play outside", "draw pictures", "sing songs", "read books", "run fast", "climb trees", "help others",
    "look at the stars", "jump in puddles", "pick flowers", "build things", "tell stories",
];
const DAYS: &[&str] = &["One day", "One sunny day", "One rainy morning", "One morning", "One windy day", "One warm afternoon", "One cold day"];
const SAD: &[&str] = &["sad", "scared", "worried", "upset"];
const GLAD: &[&str] = &["happy", "glad", "proud", "excited"];
const MEALS: &[&str] = &["ate a cake", "ate a cookie", "ate an apple", "ate some soup", "had a sandwich", "drank some milk"];
/// What a child makes, and from what.
const MAKES: &[(&str, &str)] = &[
    ("tower", "blocks"), ("card", "paper"), ("little house", "sticks"), ("castle", "sand"),
    ("kite", "paper"), ("hat", "leaves"), ("cake", "flour and eggs"), ("boat", "paper"),
];
// ANCHOR_END: world

/// The seeded writer of stories.
pub struct Stories {
    rng: Rng,
}

/// The cast of one story: the hero, a friend, a pet, a toy, a place.
struct Cast {
    hero: &'static Child,
    friend: &'static Child,
    pet: &'static str,
    toy: String, // "red ball"
    place: &'static str,
}

impl Stories {
    pub fn new(seed: u64) -> Self {
        Stories { rng: Rng::new(seed) }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *self.rng.pick(items)
    }

    /// The next story: one paragraph of a few sentences.
    pub fn story(&mut self) -> String {
        let hero = self.rng.pick(CHILDREN);
        let friend = loop {
            let f = self.rng.pick(CHILDREN);
            if f.name != hero.name {
                break f;
            }
        };
        let toy = format!("{} {}", self.pick(COLOURS), self.pick(TOYS));
        let cast = Cast { hero, friend, pet: self.pick(ANIMALS), toy, place: self.pick(PLACES) };
        let mut s = Vec::new();
        self.introduction(&cast, &mut s);
        self.trip(&cast, &mut s);
        match self.rng.below(5) {
            0 => self.lost_toy(&cast, &mut s),
            1 => self.sharing(&cast, &mut s),
            2 => self.animal_in_trouble(&cast, &mut s),
            3 => self.rain(&cast, &mut s),
            _ => self.making(&cast, &mut s),
        }
        self.ending(&cast, &mut s);
        s.join(" ")
    }

    fn introduction(&mut self, c: &Cast, s: &mut Vec<String>) {
        let (n, he) = (c.hero.name, cap(c.hero.he));
        let trait_ = self.pick(TRAITS);
        s.push(match self.rng.below(3) {
            0 => format!("Once upon a time, there was a {trait_} {} named {n}.", c.hero.kind),
            1 => format!("{n} was a {trait_} {} who lived near the {}.", c.hero.kind, c.place),
            _ => format!("There once was a {} called {n}. {he} was very {trait_}.", c.hero.kind),
        });
        let like = self.pick(LIKES);
        s.push(match self.rng.below(3) {
            0 => format!("{he} loved to {like}."),
            1 => format!("{n} had a {} named {}.", c.pet, self.pick(&["Spot", "Fluffy", "Bella", "Pip", "Sunny", "Coco"])),
            _ => format!("{he} had a {} that {} loved very much.", c.toy, c.hero.he),
        });
    }

    fn trip(&mut self, c: &Cast, s: &mut Vec<String>) {
        let (n, his) = (c.hero.name, c.hero.his);
        let day = self.pick(DAYS);
        s.push(match self.rng.below(3) {
            0 => format!("{day}, {n} went to the {} with {his} friend {}.", c.place, c.friend.name),
            1 => format!("{day}, {n} and {} went to play at the {}.", c.friend.name, c.place),
            _ => format!("{day}, {n} took {his} {} to the {}. {} came too.", c.toy, c.place, c.friend.name),
        });
        if self.rng.chance(0.5) {
            s.push(format!("The sun was {} and the sky was {}.", self.pick(&["warm", "bright", "high"]), self.pick(&["blue", "clear", "pink"])));
        }
    }

    fn lost_toy(&mut self, c: &Cast, s: &mut Vec<String>) {
        let (n, he, his) = (c.hero.name, cap(c.hero.he), c.hero.his);
        let (a, b, found) = (self.pick(SPOTS), self.pick(SPOTS), self.pick(SPOTS));
        s.push(format!("At the {}, {n} could not find {his} {}.", c.place, c.toy));
        s.push(format!("{he} looked under the {a} and behind the {b}, but it was not there."));
        s.push(format!("{n} felt {}.", self.pick(SAD)));
        s.push(format!("\"Have you seen my {}?\" {n} asked {}.", c.toy, c.friend.name));
        if self.rng.chance(0.5) {
            s.push(format!("\"Yes, I saw it near the {found},\" said {}.", c.friend.name));
            s.push(format!("{n} ran to the {found} and found {his} {}.", c.toy));
        } else {
            s.push(format!("\"No, but I will help you look,\" said {}.", c.friend.name));
            s.push(format!("They looked together, and {} found the {} near the {found}.", c.friend.name, c.toy));
        }
        s.push(format!("{n} was so {}. \"Thank you!\" {} said, and {} gave {} a hug.", self.pick(GLAD), c.hero.he, c.friend.name, c.hero.him));
    }

    fn sharing(&mut self, c: &Cast, s: &mut Vec<String>) {
        let (n, f) = (c.hero.name, c.friend.name);
        s.push(format!("{n} was playing with {} {}.", c.hero.his, c.toy));
        s.push(format!("\"Can I play with your {} too?\" asked {f}.", c.toy));
        if self.rng.chance(0.5) {
            s.push(format!("\"Yes, you can,\" said {n}. \"Let's play together.\""));
            s.push(format!("{n} and {f} played with the {} all day.", c.toy));
        } else {
            s.push(format!("\"No, it is mine,\" said {n}."));
            s.push(format!("{f} felt {} and sat down by the {}.", self.pick(SAD), self.pick(SPOTS)));
            s.push(format!("Then {n} saw that {} friend was {}. {} said, \"I am sorry, {f}. You can play with it.\"", c.hero.his, self.pick(SAD), cap(c.hero.he)));
            s.push(format!("{f} smiled, and they played together until it was time to go home."));
        }
    }

    fn animal_in_trouble(&mut self, c: &Cast, s: &mut Vec<String>) {
        let (n, he) = (c.hero.name, cap(c.hero.he));
        let animal = self.pick(ANIMALS);
        let (trouble, help) = match self.rng.below(3) {
            0 => (format!("stuck up in a tall {}", self.pick(&["tree", "fence", "wall"])), "climbed up slowly and brought it down"),
            1 => ("caught in a bush".to_string(), "pulled the branches away gently"),
            _ => ("that was cold and hungry".to_string(), "gave it some food and a soft blanket"),
        };
        s.push(format!("At the {}, {n} heard a small sound. It was a little {animal} {trouble}.", c.place));
        s.push(format!("\"Don't be {},\" said {n}. \"I will help you.\"", self.pick(SAD)));
        s.push(format!("{he} {help}."));
        s.push(format!("\"Thank you,\" said the {animal}. \"You are very kind.\""));
        if self.rng.chance(0.5) {
            s.push(format!("The {animal} and {n} became good friends."));
        }
    }

    fn rain(&mut self, c: &Cast, s: &mut Vec<String>) {
        let (n, f) = (c.hero.name, c.friend.name);
        s.push(format!("They played with the {} near the {}.", c.toy, self.pick(SPOTS)));
        s.push(format!("Then the sky turned {} and it started to rain.", self.pick(&["grey", "dark", "black"])));
        s.push(format!("\"Quick, let's go under the {}!\" said {f}.", self.pick(&["tree", "bridge", "roof", "big umbrella"])));
        s.push(format!("{n} and {f} ran and waited there until the rain stopped."));
        s.push(format!("When the sun came out, they saw a {} rainbow in the sky.", self.pick(&["big", "bright", "beautiful"])));
    }

    fn making(&mut self, c: &Cast, s: &mut Vec<String>) {
        let (n, he, f) = (c.hero.name, c.hero.he, c.friend.name);
        let (thing, from) = self.pick(MAKES);
        s.push(format!("{n} wanted to make a {thing} out of {from}."));
        s.push(format!("{} worked hard, but the {thing} {}.", cap(he), self.pick(&["fell down", "broke", "did not look right"])));
        s.push(format!("\"Can you help me?\" {n} asked {f}. \"Of course,\" said {f}."));
        s.push(format!("Together they made a new {thing}, and it was {}.", self.pick(&["very big", "very pretty", "the best one", "strong"])));
    }

    fn ending(&mut self, c: &Cast, s: &mut Vec<String>) {
        let (n, he, his) = (c.hero.name, cap(c.hero.he), c.hero.his);
        s.push(match self.rng.below(4) {
            0 => format!("In the evening, {n} went home and {}.", self.pick(MEALS)),
            1 => format!("{n} went home and told {his} {} all about the day.", self.pick(&["mom", "dad", "grandma", "grandpa"])),
            2 => format!("From that day on, {n} and {} were best friends.", c.friend.name),
            _ => format!("It was a {} day, and {} went to bed {}.", self.pick(&["good", "happy", "long", "fun"]), c.hero.he, self.pick(&["with a smile", "happy", "early"])),
        });
        if self.rng.chance(0.3) {
            s.push(format!("{he} could not wait to play with {} again.", c.friend.name));
        }
    }
}

/// First letter upper case ("she" -> "She").
fn cap(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stories_other_seed_other_stories() {
        let a: Vec<String> = (0..20).scan(Stories::new(7), |w, _| Some(w.story())).collect();
        let b: Vec<String> = (0..20).scan(Stories::new(7), |w, _| Some(w.story())).collect();
        let c: Vec<String> = (0..20).scan(Stories::new(8), |w, _| Some(w.story())).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        // varied: 2000 stories are (almost) all different
        let mut w = Stories::new(1);
        let distinct: std::collections::HashSet<String> = (0..2000).map(|_| w.story()).collect();
        assert!(distinct.len() > 1990, "{}", distinct.len());
        assert!(a.iter().all(|s| s.is_ascii() && s.ends_with(['.', '"', '!'])));
    }
}
