//! `files write`: a file rewritten in one streaming pass — the old bytes before the offset, the
//! new bytes, then the old bytes after them — through the same importer as `ipfs add`, so the
//! result has the CID an add of the new content gives. Blocks go to the store as they fill, so
//! a file of any size is written in bounded memory.

use super::MfsError;
use crate::cid::Cid;
use crate::store::{BlockRead, BlockWrite};
use crate::unixfs::file::{FileImporter, LinkInfo};
use crate::unixfs::read::FileCursor;
use crate::unixfs::{Block, Profile};

/// Blocks held before they are written to the store.
const FLUSH_BYTES: usize = 4 << 20;

/// A file being written; see `Mfs::write_begin`.
pub struct FileWriter {
    imp: FileImporter,
    pending: Vec<Block>,
    pending_bytes: usize,
    /// The file being rewritten and its size (0 when new or truncated).
    old: Option<Cid>,
    old_size: u64,
    /// Where the new bytes start, and how many have been pushed.
    offset: u64,
    pushed: u64,
}

impl FileWriter {
    pub(super) fn begin<S: BlockRead + BlockWrite + ?Sized>(
        store: &S,
        old: Option<Cid>,
        offset: u64,
        truncate: bool,
        profile: Profile,
    ) -> Result<FileWriter, MfsError> {
        let old = if truncate { None } else { old };
        let old_size = match &old {
            Some(c) => super::tree::stat_cid(store, c)?.size,
            None => 0,
        };
        let mut w = FileWriter {
            imp: FileImporter::new(profile),
            pending: Vec::new(),
            pending_bytes: 0,
            old,
            old_size,
            offset,
            pushed: 0,
        };
        w.copy_old(store, 0, offset.min(old_size))?;
        // Past the end: the gap reads as zeros, as in kubo.
        let zeros = [0u8; 8192];
        let mut gap = offset.saturating_sub(old_size);
        while gap > 0 {
            let n = gap.min(zeros.len() as u64) as usize;
            w.feed(store, &zeros[..n])?;
            gap -= n as u64;
        }
        Ok(w)
    }

    /// Appends new bytes at the write position.
    pub fn push<S: BlockWrite + ?Sized>(&mut self, store: &S, data: &[u8]) -> Result<(), MfsError> {
        self.pushed += data.len() as u64;
        self.feed(store, data)
    }

    /// Ends the file after what is pushed (a truncation): the old bytes after it are dropped.
    pub fn end_here(&mut self) {
        self.old_size = self.old_size.min(self.offset + self.pushed);
    }

    /// Bytes pushed so far.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Copies the old bytes after the new ones and stores the rest of the file.
    pub(super) fn finish<S: BlockRead + BlockWrite + ?Sized>(mut self, store: &S) -> Result<LinkInfo, MfsError> {
        let end = self.offset + self.pushed;
        if end < self.old_size {
            self.copy_old(store, end, self.old_size)?;
        }
        let mut out = std::mem::take(&mut self.pending);
        let info = self.imp.finish(&mut out);
        store.put_blocks(&out)?;
        Ok(info)
    }

    fn copy_old<S: BlockRead + BlockWrite + ?Sized>(
        &mut self,
        store: &S,
        start: u64,
        end: u64,
    ) -> Result<(), MfsError> {
        let Some(old) = self.old.clone() else { return Ok(()) };
        if start >= end {
            return Ok(());
        }
        let mut cur = FileCursor::new(old, start, end);
        while let Some(piece) = cur.next_slice(store)? {
            self.feed(store, &piece.buf[piece.range])?;
        }
        Ok(())
    }

    fn feed<S: BlockWrite + ?Sized>(&mut self, store: &S, data: &[u8]) -> Result<(), MfsError> {
        let before = self.pending.len();
        self.imp.push(data, &mut self.pending);
        self.pending_bytes += self.pending[before..].iter().map(|b| b.bytes.len()).sum::<usize>();
        if self.pending_bytes >= FLUSH_BYTES {
            store.put_blocks(&self.pending)?;
            for b in self.pending.drain(..) {
                self.imp.recycle(b.bytes);
            }
            self.pending_bytes = 0;
        }
        Ok(())
    }
}
