//! The subset of YAML the documented CI recipes use: block mappings,
//! block sequences, `|` block scalars, plain and double-quoted scalars.
//! Anything else is an error, so a recipe cannot hold a step this test
//! silently ignores.

#[derive(Debug, Clone)]
pub(super) enum Yaml {
    /// A scalar as written, a plain one with its trailing comment (the
    /// not-run mark lives there); [`Yaml::str`] gives its value.
    Str(String),
    Map(Vec<(String, Yaml)>),
    Seq(Vec<Yaml>),
}

impl Yaml {
    pub(super) fn parse(text: &str) -> Yaml {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut i = 0;
        let node = node(&mut lines, &mut i, 0);
        skip_blank(&lines, &mut i);
        assert!(
            i == lines.len(),
            "unparsed YAML from line {}: {}",
            i + 1,
            lines[i]
        );
        node
    }

    /// The scalar's value: unquoted, without a trailing comment.
    pub(super) fn str(&self) -> String {
        let Yaml::Str(raw) = self else {
            panic!("not a scalar: {self:?}")
        };
        if let Some(q) = raw.strip_prefix('"') {
            let end = q.find('"').expect("a closing quote");
            return q[..end].to_string();
        }
        match raw.find(" #") {
            Some(at) if !raw.contains('\n') => raw[..at].trim_end().to_string(),
            _ => raw.clone(),
        }
    }

    pub(super) fn raw(&self) -> &str {
        match self {
            Yaml::Str(raw) => raw,
            other => panic!("not a scalar: {other:?}"),
        }
    }

    pub(super) fn map(&self) -> &[(String, Yaml)] {
        match self {
            Yaml::Map(m) => m,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    pub(super) fn seq(&self) -> &[Yaml] {
        match self {
            Yaml::Seq(s) => s,
            other => panic!("not a sequence: {other:?}"),
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&Yaml> {
        self.map().iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn skip_blank(lines: &[String], i: &mut usize) {
    while *i < lines.len() && {
        let t = lines[*i].trim();
        t.is_empty() || t.starts_with('#')
    } {
        *i += 1;
    }
}

fn node(lines: &mut [String], i: &mut usize, indent: usize) -> Yaml {
    skip_blank(lines, i);
    let first = lines[*i].clone();
    assert_eq!(indent_of(&first), indent, "line {}: {first}", *i + 1);
    if first.trim_start().starts_with("- ") {
        let mut items = Vec::new();
        while *i < lines.len() && indent_of(&lines[*i]) == indent {
            let Some(rest) = lines[*i].trim_start().strip_prefix("- ") else {
                break;
            };
            // The item's content, as if the dash were a space.
            lines[*i] = format!("{}  {rest}", " ".repeat(indent));
            items.push(node(lines, i, indent + 2));
            skip_blank(lines, i);
        }
        return Yaml::Seq(items);
    }
    if !first.trim_end().ends_with(':') && !first.contains(": ") {
        *i += 1;
        return Yaml::Str(first.trim().to_string());
    }
    let mut entries = Vec::new();
    while *i < lines.len() && indent_of(&lines[*i]) == indent {
        let line = lines[*i].trim().to_string();
        assert!(
            !line.starts_with("- "),
            "line {}: a sequence in a mapping",
            *i + 1
        );
        let (key, rest) = match line.split_once(": ") {
            Some((k, r)) => (k.to_string(), r.trim().to_string()),
            None => (
                line.strip_suffix(':')
                    .unwrap_or_else(|| panic!("line {}: not `key: value`: {line}", *i + 1))
                    .to_string(),
                String::new(),
            ),
        };
        *i += 1;
        let value = if rest == "|" {
            block_scalar(lines, i, indent)
        } else if rest.is_empty() {
            skip_blank(lines, i);
            let deeper = indent_of(&lines[*i]);
            assert!(
                deeper > indent || lines[*i].trim_start().starts_with("- "),
                "line {}: `{key}:` has no value",
                *i + 1
            );
            node(lines, i, deeper)
        } else {
            assert!(
                !rest.starts_with(['[', '{', '\'', '&', '*', '>']),
                "{line}: unsupported"
            );
            Yaml::Str(rest)
        };
        entries.push((key, value));
        skip_blank(lines, i);
    }
    Yaml::Map(entries)
}

fn block_scalar(lines: &[String], i: &mut usize, indent: usize) -> Yaml {
    let mut body: Vec<&str> = Vec::new();
    let mut own = None;
    while *i < lines.len() {
        let line = &lines[*i];
        if !line.trim().is_empty() {
            let n = indent_of(line);
            if n <= indent {
                break;
            }
            let own = *own.get_or_insert(n);
            assert!(n >= own, "line {}: less indented than its block", *i + 1);
            body.push(&line[own..]);
        } else {
            body.push("");
        }
        *i += 1;
    }
    while body.last() == Some(&"") {
        body.pop();
    }
    Yaml::Str(body.join("\n") + "\n")
}

#[test]
fn the_subset_parses_as_yaml_does() {
    let doc = "a:\n  b: \"1\"\n  c: x  # note\n  s:\n    - run: |\n        one\n        two\n      if: always()\n    - uses: y\nd:\n  - e\n";
    let y = Yaml::parse(doc);
    let a = y.get("a").unwrap();
    assert_eq!(a.get("b").unwrap().str(), "1");
    assert_eq!(a.get("c").unwrap().str(), "x");
    assert_eq!(a.get("c").unwrap().raw(), "x  # note");
    let steps = a.get("s").unwrap().seq();
    assert_eq!(steps[0].get("run").unwrap().str(), "one\ntwo\n");
    assert_eq!(steps[0].get("if").unwrap().str(), "always()");
    assert_eq!(steps[1].get("uses").unwrap().str(), "y");
    assert_eq!(y.get("d").unwrap().seq()[0].str(), "e");
}
