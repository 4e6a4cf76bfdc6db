//! [`Column`]: an immutable array that either owns its memory or lives in a memory-mapped file.
//!
//! The matcher's bulk data (hashes, entry ids, the multi-index tables) is written to a snapshot
//! as little-endian arrays aligned to [`ALIGN`] bytes, so that [`crate::Matcher::open`] can use
//! them in place: opening a snapshot of ten million entries maps the file and checks it, and
//! copies nothing. Data built in memory (a fresh list, a compaction) is owned instead; readers
//! cannot tell the two apart.

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::Arc;

use bytemuck::Pod;
use memmap2::Mmap;

/// Alignment of every array in a snapshot, in bytes (a cache line; enough for any element).
pub(crate) const ALIGN: usize = 64;

/// An immutable `[T]`, owned or borrowed from a shared memory map.
pub(crate) struct Column<T> {
    repr: Repr<T>,
}

enum Repr<T> {
    Owned(Box<[T]>),
    Mapped {
        /// Keeps the mapping alive as long as the column.
        _map: Arc<Mmap>,
        ptr: *const T,
        len: usize,
    },
}

// SAFETY: a mapped column is a read-only view of an `Mmap` it keeps alive (an `Mmap` is Send +
// Sync); nothing ever writes through `ptr`. Owned columns are a `Box<[T]>`.
unsafe impl<T: Sync> Sync for Column<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Send for Column<T> {}

impl<T: Pod> Column<T> {
    /// A column owning `values`.
    pub(crate) fn owned(values: Vec<T>) -> Self {
        Column {
            repr: Repr::Owned(values.into_boxed_slice()),
        }
    }

    /// The `len` values stored little-endian at `bytes` `start..` of `map`, used in place when
    /// this machine is little-endian and the start is aligned for `T`, copied otherwise.
    /// `None` if the range lies outside the map.
    pub(crate) fn mapped(map: &Arc<Mmap>, start: usize, len: usize) -> Option<Self> {
        let size = len.checked_mul(std::mem::size_of::<T>())?;
        let bytes = map.get(start..start.checked_add(size)?)?;
        let aligned = (bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>());
        if cfg!(target_endian = "little") && aligned {
            return Some(Column {
                repr: Repr::Mapped {
                    _map: map.clone(),
                    ptr: bytes.as_ptr().cast(),
                    len,
                },
            });
        }
        Some(Self::owned(from_le_bytes(bytes)))
    }

    /// Bytes of memory this column holds (owned or mapped).
    pub(crate) fn bytes(&self) -> usize {
        std::mem::size_of_val::<[T]>(self)
    }
}

impl<T> Deref for Column<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match &self.repr {
            Repr::Owned(values) => values,
            // SAFETY: `mapped` checked that `len` values of `T` fit inside the map from `ptr`
            // and that `ptr` is aligned for `T`; `T: Pod` accepts any bit pattern; the map is
            // read-only and alive as long as `self` (snapshots are replaced by rename, never
            // rewritten in place, so the file under a mapping does not change).
            Repr::Mapped { ptr, len, .. } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }
}

impl<T: Pod> Clone for Column<T> {
    fn clone(&self) -> Self {
        match &self.repr {
            Repr::Owned(values) => Self::owned(values.to_vec()),
            Repr::Mapped { _map, ptr, len } => Column {
                repr: Repr::Mapped {
                    _map: _map.clone(),
                    ptr: *ptr,
                    len: *len,
                },
            },
        }
    }
}

impl<T: Pod> Default for Column<T> {
    fn default() -> Self {
        Self::owned(Vec::new())
    }
}

impl<T: Pod> From<Vec<T>> for Column<T> {
    fn from(values: Vec<T>) -> Self {
        Self::owned(values)
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.repr {
            Repr::Owned(_) => "owned",
            Repr::Mapped { .. } => "mapped",
        };
        write!(f, "Column({kind}, {} values)", self.len())
    }
}

/// A zeroed `Vec<T>` of `len` values whose memory the kernel is asked to back with huge pages
/// (Linux, transparent huge pages in `madvise` mode), for the large arrays that queries read
/// at random: with 4 KB pages nearly every random read also misses the TLB, and in a virtual
/// machine a TLB miss costs several memory accesses.
pub(crate) fn zeroed_huge<T: Pod>(len: usize) -> Vec<T> {
    let values: Vec<T> = vec![T::zeroed(); len];
    advise_huge(&values);
    values
}

/// Asks for huge pages under `values` (before they are written, so that the first touch
/// allocates them). Only whole 2 MB pages inside the buffer are advised; small buffers and
/// other systems are left alone.
pub(crate) fn advise_huge<T>(values: &[T]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = values.as_ptr() as usize;
        let end = start + std::mem::size_of_val(values);
        let (first, last) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if last > first {
            // SAFETY: the range lies inside `values`' allocation; MADV_HUGEPAGE changes how
            // the kernel backs the pages, never their contents or validity.
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = values;
}

/// Little-endian bytes to values, whatever this machine's byte order and the bytes' alignment.
fn from_le_bytes<T: Pod>(bytes: &[u8]) -> Vec<T> {
    let mut values: Vec<T> = vec![T::zeroed(); bytes.len() / std::mem::size_of::<T>()];
    bytemuck::cast_slice_mut::<T, u8>(&mut values).copy_from_slice(bytes);
    swap_to_le::<T>(bytemuck::cast_slice_mut(&mut values));
    values
}

/// `values` as little-endian bytes (for writing a snapshot): the memory itself on
/// little-endian machines (no copy), a converted copy elsewhere.
pub(crate) fn le_bytes<T: Pod>(values: &[T]) -> Cow<'_, [u8]> {
    let bytes: &[u8] = bytemuck::cast_slice(values);
    if cfg!(target_endian = "little") {
        return Cow::Borrowed(bytes);
    }
    let mut bytes = bytes.to_vec();
    swap_to_le::<T>(&mut bytes);
    Cow::Owned(bytes)
}

/// Reverses the bytes of every word of `bytes` (values of type `T`) on big-endian machines,
/// turning native order into little-endian and back; does nothing elsewhere.
fn swap_to_le<T>(bytes: &mut [u8]) {
    let width = word_width::<T>();
    if cfg!(target_endian = "big") && width > 1 {
        for word in bytes.chunks_exact_mut(width) {
            word.reverse();
        }
    }
}

/// The width of the unsigned integers a column element is built from: every element type used
/// here is one integer (`u8` to `u64`) or an array of `u64` (a hash).
fn word_width<T>() -> usize {
    match std::mem::size_of::<T>() {
        size @ (1 | 2 | 4 | 8) => size,
        _ => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_words_follow_the_element_type() {
        // Bytes (the 3-byte ids, label text) are no words to swap; a hash is four u64.
        assert_eq!(word_width::<u8>(), 1);
        assert_eq!(word_width::<u16>(), 2);
        assert_eq!(word_width::<u32>(), 4);
        assert_eq!(word_width::<u64>(), 8);
        assert_eq!(word_width::<crate::Hash256>(), 8);
    }

    #[test]
    fn mapped_columns_read_the_file_in_place_and_refuse_ranges_outside_it() {
        let path = std::env::temp_dir().join(format!("column-{}.bin", std::process::id()));
        let mut bytes = le_bytes(&[1u64, 2, 3, u64::MAX]).into_owned();
        bytes.extend_from_slice(&le_bytes(&[7u16, 8]));
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: the test owns the file and does not change it while mapped.
        let map = Arc::new(unsafe { Mmap::map(&file) }.unwrap());
        let words = Column::<u64>::mapped(&map, 0, 4).unwrap();
        assert_eq!(&*words, &[1, 2, 3, u64::MAX]);
        assert!(format!("{words:?}").contains("mapped"));
        assert_eq!(words.bytes(), 32);
        // Unaligned start: copied, same values.
        let shifted = Column::<u16>::mapped(&map, 32, 2).unwrap();
        assert_eq!(&*shifted, &[7, 8]);
        let odd = Column::<u16>::mapped(&map, 7, 2).unwrap();
        assert_eq!(&*odd, &[0x0200, 0]);
        assert!(Column::<u64>::mapped(&map, 8, 4).is_none());
        assert!(Column::<u64>::mapped(&map, usize::MAX, 1).is_none());
        assert!(Column::<u64>::mapped(&map, 0, usize::MAX).is_none());
        std::fs::remove_file(&path).unwrap();
    }
}
