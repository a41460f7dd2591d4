//! The small ordered key-value interface that database commands run over: LMDB in `storage`,
//! a `BTreeMap` here (the simulator, tests and fuzzing).

use std::collections::BTreeMap;

/// A storage failure below the database (disk full, I/O): the transaction is abandoned.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault(pub String);

/// Reads in one consistent snapshot.
pub trait Read {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Fault>;
    /// Calls `f` for each entry with `from <= key < to` in ascending order until it returns false.
    fn scan(&self, from: &[u8], to: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), Fault>;
}

/// Reads and writes in one transaction.
pub trait Write: Read {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), Fault>;
    fn del(&mut self, key: &[u8]) -> Result<(), Fault>;
}

/// A keyspace in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemKv(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl Read for MemKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Fault> {
        Ok(self.0.get(key).cloned())
    }
    fn scan(&self, from: &[u8], to: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), Fault> {
        if from >= to {
            return Ok(());
        }
        for (k, v) in self.0.range(from.to_vec()..to.to_vec()) {
            if !f(k, v) {
                break;
            }
        }
        Ok(())
    }
}

impl Write for MemKv {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), Fault> {
        self.0.insert(key.to_vec(), value.to_vec());
        Ok(())
    }
    fn del(&mut self, key: &[u8]) -> Result<(), Fault> {
        self.0.remove(key);
        Ok(())
    }
}

/// A write transaction that records its effects, in order: the replication entry of a commit.
pub struct Recording<'a, W: Write + ?Sized> {
    pub inner: &'a mut W,
    pub ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl<'a, W: Write + ?Sized> Recording<'a, W> {
    pub fn new(inner: &'a mut W) -> Self {
        Recording { inner, ops: Vec::new() }
    }
}

impl<W: Write + ?Sized> Read for Recording<'_, W> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Fault> {
        self.inner.get(key)
    }
    fn scan(&self, from: &[u8], to: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), Fault> {
        self.inner.scan(from, to, f)
    }
}

impl<W: Write + ?Sized> Write for Recording<'_, W> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), Fault> {
        self.ops.push((key.to_vec(), Some(value.to_vec())));
        self.inner.put(key, value)
    }
    fn del(&mut self, key: &[u8]) -> Result<(), Fault> {
        self.ops.push((key.to_vec(), None));
        self.inner.del(key)
    }
}
