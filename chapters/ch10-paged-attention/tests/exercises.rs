//! The tests of chapter 10's exercises, one group per exercise (`ch10_K_...`), and the pool's and
//! the tables' unit facts.
//!
//! `cargo run -p exercises -- check ch10` runs each group against the learner's stub
//! (`--features ex-ch10-K`); a plain `cargo test` runs them against the reference code. The
//! expected values are worked out by hand in the comments.

use ch10_paged_attention::{BlockCopy, BlockPool, BlockTable, PoolError};

// ---------------------------------------------------------------- ch10-1: the slot of a position

// ANCHOR: ch10_1_slot_formula
#[test]
fn ch10_1_slot_is_block_times_size_plus_offset() {
    // block size 4, the table holds blocks [7, 2, 5] for 10 tokens:
    // pos 0..4 -> block 7: slots 28..32; pos 4..8 -> block 2: 8..12; pos 8, 9 -> block 5: 20, 21
    let t = BlockTable::from_parts(4, vec![7, 2, 5], 10).unwrap();
    let got: Vec<usize> = (0..10).map(|p| t.slot(p).unwrap()).collect();
    assert_eq!(got, [28, 29, 30, 31, 8, 9, 10, 11, 20, 21], "exercise ch10-1: slots of [7, 2, 5], block size 4");
}
// ANCHOR_END: ch10_1_slot_formula

#[test]
fn ch10_1_block_size_one_and_positions_past_the_end() {
    // block size 1: the slot is the block
    let t = BlockTable::from_parts(1, vec![3, 0, 9], 3).unwrap();
    assert_eq!((0..3).map(|p| t.slot(p).unwrap()).collect::<Vec<_>>(), [3, 0, 9], "exercise ch10-1: block size 1");
    // block size 3, 4 tokens in [1, 6]: position 3 is slot 18; positions 4 and 5 are not held
    let t = BlockTable::from_parts(3, vec![1, 6], 4).unwrap();
    assert_eq!(t.slot(3), Ok(18), "exercise ch10-1: pos 3 = block 6 * 3 + 0");
    assert_eq!(t.slot(4), Err(PoolError::PositionOutOfRange { pos: 4, len: 4 }), "exercise ch10-1: pos 4 is not cached yet");
}

// ---------------------------------------------------------------- ch10-2: allocate / free with reference counts

// ANCHOR: ch10_2_refcount
#[test]
fn ch10_2_a_block_returns_to_the_free_list_when_its_last_holder_lets_go() {
    let mut pool = BlockPool::new(3, 4).unwrap();
    let a = pool.allocate().unwrap();
    assert_eq!((pool.ref_count(a), pool.num_free()), (Ok(1), 2), "exercise ch10-2: a new block is held once");
    pool.incref(a).unwrap(); // a second sequence shares it
    assert_eq!(pool.ref_count(a), Ok(2));
    assert_eq!(pool.free(a), Ok(false), "exercise ch10-2: one holder is left: the block stays used");
    assert_eq!(pool.num_free(), 2);
    assert_eq!(pool.free(a), Ok(true), "exercise ch10-2: the last holder let go: the block is free");
    assert_eq!((pool.ref_count(a), pool.num_free()), (Ok(0), 3));
    assert_eq!(pool.free(a), Err(PoolError::BlockIsFree { block: a }), "exercise ch10-2: no double free");
    assert_eq!(pool.incref(a), Err(PoolError::BlockIsFree { block: a }), "exercise ch10-2: a free block cannot be shared");
}
// ANCHOR_END: ch10_2_refcount

#[test]
fn ch10_2_out_of_blocks_is_an_error_and_blocks_are_distinct() {
    let mut pool = BlockPool::new(2, 4).unwrap();
    let a = pool.allocate().unwrap();
    let b = pool.allocate().unwrap();
    assert_ne!(a, b, "exercise ch10-2: two allocations, two blocks");
    assert!(a < 2 && b < 2);
    assert_eq!(pool.allocate(), Err(PoolError::OutOfBlocks { needed: 1, free: 0, total: 2 }), "exercise ch10-2: an empty free list");
    pool.free(b).unwrap();
    assert_eq!(pool.allocate(), Ok(b), "exercise ch10-2: the freed block is the only free one");
    assert_eq!(pool.free(9), Err(PoolError::NoSuchBlock { block: 9, num_blocks: 2 }));
    assert_eq!(pool.incref(2), Err(PoolError::NoSuchBlock { block: 2, num_blocks: 2 }));
}

// ---------------------------------------------------------------- ch10-3: copy-on-write

// ANCHOR: ch10_3_copy_on_write
#[test]
fn ch10_3_writing_into_a_shared_partly_filled_block_copies_it() {
    // block size 4: a 6-token prompt fills block 0 and half of block 1
    let mut pool = BlockPool::new(8, 4).unwrap();
    let mut a = BlockTable::new(4).unwrap();
    a.append(6, &mut pool).unwrap();
    assert_eq!(a.blocks(), [0, 1]);
    let mut b = a.fork(&mut pool).unwrap(); // parallel sampling: b shares both blocks
    assert_eq!((pool.ref_count(0), pool.ref_count(1), pool.num_used()), (Ok(2), Ok(2), 2));
    // b writes position 6, into shared block 1: copy it to a new block (2) first
    let got = b.append(1, &mut pool).unwrap();
    assert_eq!(got.copy, Some(BlockCopy { src: 1, dst: 2 }), "exercise ch10-3: block 1 is shared and partly filled");
    assert_eq!(b.blocks(), [0, 2], "exercise ch10-3: b now writes into its own copy");
    assert_eq!(got.slots, [2 * 4 + 2]);
    assert_eq!((pool.ref_count(1), pool.ref_count(2)), (Ok(1), Ok(1)), "exercise ch10-3: a alone holds block 1, b alone block 2");
    assert_eq!(pool.ref_count(0), Ok(2), "exercise ch10-3: the full block 0 stays shared");
    // a writes position 6 too: block 1 is its own now, no copy (slot 1 * 4 + 2)
    let got = a.append(1, &mut pool).unwrap();
    assert_eq!((got.copy, got.slots), (None, vec![4 + 2]), "exercise ch10-3: an unshared block is written in place");
}
// ANCHOR_END: ch10_3_copy_on_write

#[test]
fn ch10_3_a_full_shared_block_is_not_copied_and_a_full_pool_changes_nothing() {
    // block size 2, 4 tokens = 2 full blocks; a fork writes position 4 into a new block, no copy
    let mut pool = BlockPool::new(4, 2).unwrap();
    let mut a = BlockTable::new(2).unwrap();
    a.append(4, &mut pool).unwrap();
    let mut b = a.fork(&mut pool).unwrap();
    let got = b.append(1, &mut pool).unwrap();
    assert_eq!(got.copy, None, "exercise ch10-3: full blocks are never written again: no copy");
    assert_eq!(b.blocks(), [0, 1, 2]);
    // a 3-token prefix of a (block 1 half used) shared by c; the pool has one free block
    let mut c = a.fork_prefix(3, &mut pool).unwrap();
    let mut e = BlockTable::new(2).unwrap();
    e.append(2, &mut pool).unwrap(); // takes the last free block
    assert_eq!(pool.num_free(), 0);
    let before = (c.clone(), pool.ref_count(1));
    assert!(matches!(c.append(1, &mut pool), Err(PoolError::OutOfBlocks { needed: 1, free: 0, .. })), "exercise ch10-3: the copy needs a block");
    assert_eq!((c.clone(), pool.ref_count(1)), before, "exercise ch10-3: a refused append changes nothing");
}

// ---------------------------------------------------------------- the pool and the tables

#[test]
fn append_takes_a_block_only_when_the_last_is_full() {
    // block size 3: 1, 2, 3 tokens -> 1 block; 4 -> 2; after 7 tokens, 3 blocks
    let mut pool = BlockPool::new(10, 3).unwrap();
    let mut t = BlockTable::new(3).unwrap();
    let mut blocks = Vec::new();
    for _ in 0..7 {
        t.append(1, &mut pool).unwrap();
        blocks.push(t.blocks().len());
    }
    assert_eq!(blocks, [1, 1, 1, 2, 2, 2, 3]);
    assert_eq!(pool.num_used(), 3);
    t.release(&mut pool).unwrap();
    assert_eq!((pool.num_used(), t.len(), t.blocks().len()), (0, 0, 0));
}

#[test]
fn a_refused_append_leaves_table_and_pool_unchanged() {
    let mut pool = BlockPool::new(2, 4).unwrap();
    let mut t = BlockTable::new(4).unwrap();
    t.append(5, &mut pool).unwrap(); // 2 blocks
    let before = t.clone();
    assert_eq!(t.append(4, &mut pool), Err(PoolError::OutOfBlocks { needed: 1, free: 0, total: 2 }));
    assert_eq!(t, before);
    assert_eq!(pool.num_free(), 0);
    assert_eq!(t.append(3, &mut pool).map(|a| a.slots), Ok(vec![5, 6, 7]), "the 3 positions left in block 1 still fit");
}

#[test]
fn fork_prefix_shares_only_the_prefix_blocks() {
    let mut pool = BlockPool::new(8, 4).unwrap();
    let mut sys = BlockTable::new(4).unwrap();
    sys.append(10, &mut pool).unwrap(); // blocks 0, 1, 2
    let user = sys.fork_prefix(5, &mut pool).unwrap(); // positions 0..5: blocks 0, 1
    assert_eq!((user.blocks(), user.len()), (&[0, 1][..], 5));
    assert_eq!([0, 1, 2].map(|b| pool.ref_count(b).unwrap()), [2, 2, 1]);
    assert_eq!(sys.fork_prefix(11, &mut pool), Err(PoolError::PositionOutOfRange { pos: 11, len: 10 }));
}
