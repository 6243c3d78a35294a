//! What every format's reader builds: blocks (mappings, sequences, sections, elements) and
//! the scalar values in them, each with the byte range of its value.

use std::ops::Range;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A mapping key; quoted in the path when it holds anything but `[A-Za-z0-9_-]`.
    Key(String),
    /// A sequence position.
    Index(usize),
    /// Written as is: a flat key (`spring.datasource.password`) or an XML selector
    /// (`add[name=Db]`).
    Raw(String),
}

/// A block that holds values: a mapping, sequence, section or element.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub parent: Option<u32>,
    /// How the parent reaches this block (none for the root).
    pub seg: Option<Seg>,
}

/// One scalar value of the file.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub block: u32,
    pub seg: Seg,
    /// The name that says what the value is when it is not the key: the `name` of a
    /// `name`/`value` pair, an XML `add` element's `key`, the `NAME` of a `NAME=value` item.
    pub label: Option<String>,
    /// The value's bytes, inside any quotes.
    pub value: Range<usize>,
}

/// The index a reader builds: blocks and the scalar values in them.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub blocks: Vec<Block>,
    pub entries: Vec<Entry>,
}

impl Builder {
    pub fn block(&mut self, parent: Option<u32>, seg: Option<Seg>) -> u32 {
        self.blocks.push(Block { parent, seg });
        (self.blocks.len() - 1) as u32
    }

    pub fn leaf(&mut self, block: u32, seg: Seg, value: Range<usize>) {
        self.entries.push(Entry {
            block,
            seg,
            label: None,
            value,
        });
    }

    pub fn labelled(&mut self, block: u32, seg: Seg, label: String, value: Range<usize>) {
        self.entries.push(Entry {
            block,
            seg,
            label: Some(label),
            value,
        });
    }
}

/// The input does not parse as its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;
