//! Random sequences of appends, forks and releases on the pool and the tables, against a plain
//! model: a list of token ids per sequence. Each token id is "stored" in its slot (copies made
//! as the tables ask); reading every sequence back through its table must give its list.

use ch10_paged_attention::{BlockPool, BlockTable, PoolError};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append { seq: usize, n: usize },
    Fork { seq: usize, keep: usize },
    Release { seq: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..6usize, 1..7usize).prop_map(|(seq, n)| Op::Append { seq, n }),
        1 => (0..6usize, 0..20usize).prop_map(|(seq, keep)| Op::Fork { seq, keep }),
        1 => (0..6usize).prop_map(|seq| Op::Release { seq }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn tables_read_back_what_was_written(block_size in 1..6usize, num_blocks in 1..24usize, ops in prop::collection::vec(op(), 1..40)) {
        let mut pool = BlockPool::new(num_blocks, block_size).unwrap();
        let mut storage: Vec<Option<u32>> = vec![None; num_blocks * block_size]; // one "token" per slot
        let mut seqs: Vec<(BlockTable, Vec<u32>)> = Vec::new();
        let mut next_token = 0u32;
        for op in ops {
            match op {
                Op::Append { seq, n } if seq < seqs.len() => {
                    let (table, tokens) = &mut seqs[seq];
                    let before = (table.clone(), pool.num_free());
                    match table.append(n, &mut pool) {
                        Ok(appended) => {
                            if let Some(c) = appended.copy {
                                for i in 0..block_size {
                                    storage[c.dst * block_size + i] = storage[c.src * block_size + i];
                                }
                            }
                            for slot in appended.slots {
                                storage[slot] = Some(next_token);
                                tokens.push(next_token);
                                next_token += 1;
                            }
                        }
                        Err(PoolError::OutOfBlocks { .. }) => prop_assert_eq!((table.clone(), pool.num_free()), before),
                        Err(e) => prop_assert!(false, "unexpected {e}"),
                    }
                }
                Op::Append { .. } => {
                    seqs.push((BlockTable::new(block_size).unwrap(), Vec::new()));
                }
                Op::Fork { seq, keep } if seq < seqs.len() => {
                    let keep = keep.min(seqs[seq].1.len());
                    let forked = seqs[seq].0.fork_prefix(keep, &mut pool).unwrap();
                    let tokens = seqs[seq].1[..keep].to_vec();
                    seqs.push((forked, tokens));
                }
                Op::Release { seq } if seq < seqs.len() => {
                    let (mut table, _) = seqs.remove(seq);
                    table.release(&mut pool).unwrap();
                }
                _ => {}
            }
            // every sequence reads back its own tokens through its table
            for (table, tokens) in &seqs {
                prop_assert_eq!(table.len(), tokens.len());
                prop_assert_eq!(table.blocks().len(), tokens.len().div_ceil(block_size));
                let read: Vec<Option<u32>> = (0..table.len()).map(|p| storage[table.slot(p).unwrap()]).collect();
                prop_assert_eq!(read, tokens.iter().map(|&t| Some(t)).collect::<Vec<_>>());
            }
            // reference counts = how many tables hold each block; used = held by some table
            let mut holders = vec![0u32; num_blocks];
            for (table, _) in &seqs {
                for &b in table.blocks() {
                    holders[b] += 1;
                }
            }
            for (b, &h) in holders.iter().enumerate() {
                prop_assert_eq!(pool.ref_count(b).unwrap(), h, "block {}", b);
            }
            prop_assert_eq!(pool.num_used(), holders.iter().filter(|&&h| h > 0).count());
        }
    }
}
