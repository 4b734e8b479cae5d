//! The on-disk index file: a fixed header, 64-byte-aligned sections, a
//! section table and a footer, every part checksummed with XXH3-64.
//!
//! ```text
//! header  64 B   magic "VSXINDEX", version, kind, dim, counts, seed, header checksum
//! section ...    each starts on a 64-byte boundary (zero padding between)
//! table   32 B × n   id, flags, offset, length, checksum of each section
//! footer  40 B   table offset, section count, version, table checksum,
//!                checksum of every byte before it, magic "VSXFOOT1"
//! ```
//!
//! Raw sections (vectors, graph) are little-endian arrays used straight from
//! a memory map; structured sections go through [`codec`], the only place
//! that knows bincode. Writes are atomic: temporary file in the same folder,
//! fsync, rename, fsync of the folder.

mod atomic;
mod cleanup;
pub mod codec;
mod format;
mod lock;

pub use atomic::{ensure_replaceable, remove_stray_temps, write_atomically};
pub(crate) use cleanup::pending;
pub use cleanup::{abandon_writes, Abandoned};
pub use format::{
    block_sums_id, section_name, FileWriter, Header, MappedFile, MappedPages, SectionId,
    SectionSource, Verify, FORMAT_VERSION, MAGIC, MIN_FORMAT_VERSION,
};
pub use lock::{lock_path, WriterLock};

#[cfg(target_endian = "big")]
compile_error!("the vecsearch index format is little-endian; big-endian hosts are not supported");
