//! Where each key of a scenario file is: key paths to lines and columns.
//!
//! The parser knows the line and column of the first error it meets, but not the key
//! path; the checks that run after parsing know the key path but not the line. This
//! module reads the YAML once more into a bare tree whose nodes carry their locations
//! (serde-saphyr's `Spanned`), and lists every key path in document order, so that
//! each side can find the other: a path's line for a check, a line's path for a parser
//! error.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A YAML node, reduced to its shape.
enum Tree {
    Map(Vec<(Spanned<Key>, Spanned<Tree>)>),
    Seq(Vec<Spanned<Tree>>),
    Scalar,
}

/// A mapping key, whatever scalar it was written as.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key("null".to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tree;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = map.next_key::<Spanned<Key>>()? {
                    entries.push((k, map.next_value::<Spanned<Tree>>()?));
                }
                Ok(Tree::Map(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Tree>>()? {
                    items.push(item);
                }
                Ok(Tree::Seq(items))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_none<E: de::Error>(self) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
                Tree::deserialize(d)
            }
        }
        d.deserialize_any(V)
    }
}

/// Every key path of a file with its line and column, in document order.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// (path, line, column); a mapping entry is located at its key, a sequence item at
    /// its first character.
    entries: Vec<(String, u32, u32)>,
}

impl Index {
    /// Indexes `text`; a text that is not YAML gives an empty index (the parser will say
    /// what is wrong with it).
    pub(crate) fn new(text: &str) -> Index {
        let mut index = Index::default();
        // A repeated key is the parser's error to report; the index keeps the first.
        let options = serde_saphyr::options! {
            duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::FirstWins,
        };
        if let Ok(tree) = serde_saphyr::from_str_with_options::<Spanned<Tree>>(text, options) {
            index.walk(&tree.value, "");
        }
        index
    }

    fn walk(&mut self, tree: &Tree, prefix: &str) {
        match tree {
            Tree::Map(entries) => {
                for (k, v) in entries {
                    let path = if prefix.is_empty() {
                        k.value.0.clone()
                    } else {
                        format!("{prefix}.{}", k.value.0)
                    };
                    let at = &k.referenced;
                    self.entries
                        .push((path.clone(), at.line() as u32, at.column() as u32));
                    self.walk(&v.value, &path);
                }
            }
            Tree::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("{prefix}[{i}]");
                    let at = &item.referenced;
                    self.entries
                        .push((path.clone(), at.line() as u32, at.column() as u32));
                    self.walk(&item.value, &path);
                }
            }
            Tree::Scalar => {}
        }
    }

    /// The line and column of `path`, or of its nearest written ancestor when the key
    /// itself was left out (a check on a default names where it would go).
    pub(crate) fn locate(&self, path: &str) -> Option<(u32, u32)> {
        let mut p = path;
        loop {
            if let Some((_, l, c)) = self.entries.iter().find(|(e, _, _)| e == p) {
                return Some((*l, *c));
            }
            p = parent(p)?;
        }
    }

    /// The key path written last at or before `line:column`: the key whose value the
    /// parser was reading when it stopped there.
    pub(crate) fn path_at(&self, line: u32, column: u32) -> Option<&str> {
        self.entries
            .iter()
            .filter(|(_, l, c)| (*l, *c) <= (line, column))
            .max_by_key(|(_, l, c)| (*l, *c))
            .map(|(p, _, _)| p.as_str())
    }
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → None.
pub(crate) fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    Some(&path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
name: x
clients:
  - name: web
    policy:
      buffer: 30s
  - name: api
    count: 3
";

    #[test]
    fn paths_have_lines_and_lines_have_paths() {
        let index = Index::new(TEXT);
        assert_eq!(index.locate("name"), Some((1, 1)));
        assert_eq!(index.locate("clients[0].policy.buffer"), Some((5, 7)));
        assert_eq!(index.locate("clients[1].count"), Some((7, 5)));
        // Unwritten keys fall back to their parent.
        assert_eq!(
            index.locate("clients[1].policy.buffer"),
            index.locate("clients[1]")
        );
        assert_eq!(index.path_at(5, 15), Some("clients[0].policy.buffer"));
        assert_eq!(index.path_at(7, 12), Some("clients[1].count"));
    }

    #[test]
    fn not_yaml_gives_an_empty_index() {
        let index = Index::new("a: [1, 2\n");
        assert_eq!(index.locate("a"), None);
    }
}
