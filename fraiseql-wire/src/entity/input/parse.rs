//! Reading a filter or a sort from JSON input, within limits, against an entity's field handles.

use serde_json::{Map, Value};

use super::field::{DynField, DynamicFields, unknown_operator};
use crate::entity::{Filter, OrderKey};
use crate::error::{InputError, InputErrorKind};

/// How large an input may make a query, so a request cannot make one of unbounded size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Operators in a filter, or keys in a sort (default 64).
    pub max_terms: usize,
    /// Objects nested in a filter: `_or`, `_not`, nested documents, `any` (default 10).
    pub max_depth: usize,
    /// Values in one list value (`in_list`, `contains_all`…) (default 1,000).
    pub max_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_terms: 64, max_depth: 10, max_values: 1_000 }
    }
}

impl Limits {
    /// The defaults.
    pub fn new() -> Self {
        Limits::default()
    }

    /// At most `n` operators in a filter or keys in a sort.
    pub fn max_terms(mut self, n: usize) -> Self {
        self.max_terms = n;
        self
    }

    /// At most `n` objects nested in a filter.
    pub fn max_depth(mut self, n: usize) -> Self {
        self.max_depth = n;
        self
    }

    /// At most `n` values in one list value.
    pub fn max_values(mut self, n: usize) -> Self {
        self.max_values = n;
        self
    }
}

/// Where a parse is in the input, and what it has used of its limits.
#[doc(hidden)]
pub struct Parser {
    limits: Limits,
    /// The JSON Pointer tokens from the input's root to the value being read.
    path: Vec<String>,
    terms: usize,
    depth: usize,
}

impl Parser {
    pub(super) fn new(limits: &Limits) -> Self {
        Parser { limits: *limits, path: Vec::new(), terms: 0, depth: 0 }
    }

    /// The current place as a JSON Pointer.
    fn pointer(&self) -> String {
        self.path.iter().map(|token| format!("/{}", token.replace('~', "~0").replace('/', "~1"))).collect()
    }

    /// An error at the current place.
    pub(super) fn error(
        &self,
        kind: InputErrorKind,
        message: impl Into<String>,
        advice: impl Into<String>,
    ) -> InputError {
        InputError::new(kind, self.pointer(), message, advice)
    }

    /// `read` one level down, under `token`.
    pub(super) fn at<R>(&mut self, token: &str, read: impl FnOnce(&mut Parser) -> R) -> R {
        self.path.push(token.to_owned());
        let result = read(self);
        self.path.pop();
        result
    }

    /// Counts a list value of `n` values against the limit.
    pub(super) fn values(&self, n: usize) -> Result<(), InputError> {
        if n > self.limits.max_values {
            return Err(self.error(
                InputErrorKind::TooManyValues,
                format!("a list of {n} values is longer than the limit of {}", self.limits.max_values),
                "send fewer values, or split the request",
            ));
        }
        Ok(())
    }

    fn term(&mut self) -> Result<(), InputError> {
        self.terms += 1;
        if self.terms > self.limits.max_terms {
            return Err(self.error(
                InputErrorKind::TooManyTerms,
                format!("more than {} operators", self.limits.max_terms),
                "simplify the filter (an `in_list` takes many values as one operator)",
            ));
        }
        Ok(())
    }

    fn deeper<R>(&mut self, read: impl FnOnce(&mut Parser) -> Result<R, InputError>) -> Result<R, InputError> {
        if self.depth >= self.limits.max_depth {
            return Err(self.error(
                InputErrorKind::TooDeep,
                format!("objects nested deeper than the limit of {}", self.limits.max_depth),
                "flatten the filter: an object's entries are already and-ed",
            ));
        }
        self.depth += 1;
        let result = read(self);
        self.depth -= 1;
        result
    }

    fn object<'v>(&self, value: &'v Value, what: &str, example: &str) -> Result<&'v Map<String, Value>, InputError> {
        value.as_object().ok_or_else(|| {
            self.error(
                InputErrorKind::Shape,
                format!("expected {what}, found {}", super::shown(value)),
                format!("send an object, such as {example}"),
            )
        })
    }

    /// A filter object on `fields`.
    pub(super) fn filter<E: 'static, F: DynamicFields<E> + ?Sized>(
        &mut self,
        fields: &F,
        value: &Value,
    ) -> Result<Filter<E>, InputError> {
        self.deeper(|parser| {
            let entries = parser.object(value, "a filter object", "{\"status\": {\"eq\": \"active\"}}")?;
            let mut filters = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                let filter = parser.at(key, |parser| parser.entry(fields, key, value))?;
                filters.push(filter);
            }
            Ok(Filter::all(filters))
        })
    }

    /// One entry of a filter object: a combinator or a field.
    fn entry<E: 'static, F: DynamicFields<E> + ?Sized>(
        &mut self,
        fields: &F,
        key: &str,
        value: &Value,
    ) -> Result<Filter<E>, InputError> {
        match key {
            "_and" | "_or" => {
                let Value::Array(items) = value else {
                    return Err(self.error(
                        InputErrorKind::Shape,
                        format!("`{key}` takes a list of filters, not {}", super::shown(value)),
                        format!("send {key}: [{{…}}, {{…}}]"),
                    ));
                };
                let mut filters = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    filters.push(self.at(&i.to_string(), |parser| parser.filter(fields, item))?);
                }
                Ok(if key == "_and" { Filter::all(filters) } else { Filter::any(filters) })
            }
            "_not" => Ok(self.filter(fields, value)?.not()),
            _ => match fields.field(key) {
                Some(field) => self.conditions(&field, value),
                None => match fields.operation(key, value, self) {
                    Some(result) => {
                        self.term()?;
                        result
                    }
                    None => Err(self.unknown_field(key, fields.keys())),
                },
            },
        }
    }

    fn unknown_field(&self, key: &str, keys: &[&str]) -> InputError {
        let advice = match closest(key, keys) {
            Some(near) => format!("did you mean `{near}`? The fields here are: {}", keys.join(", ")),
            None if keys.is_empty() => "this value has no fields to filter on".to_owned(),
            None => format!("the fields here are: {} (and `_and`, `_or`, `_not`)", keys.join(", ")),
        };
        self.error(InputErrorKind::UnknownField, format!("no field `{key}`"), advice)
    }

    /// A field's object of operators (for a document, of its fields and operators).
    fn conditions<E: 'static>(&mut self, field: &DynField<E>, value: &Value) -> Result<Filter<E>, InputError> {
        self.deeper(|parser| {
            let entries =
                parser.object(value, "an object of operators", "{\"eq\": …} (operators: see the entity's schema)")?;
            let mut filters = Vec::with_capacity(entries.len());
            for (op, value) in entries {
                filters.push(parser.at(op, |parser| parser.operator(field, op, value))?);
            }
            Ok(Filter::all(filters))
        })
    }

    /// One operator of `field`, or for a document one of its fields.
    pub(super) fn operator<E: 'static>(
        &mut self,
        field: &DynField<E>,
        op: &str,
        value: &Value,
    ) -> Result<Filter<E>, InputError> {
        if let Some(child) = field.field(op) {
            return self.conditions(&child, value);
        }
        self.term()?;
        match field.apply_in(op, value, self) {
            Some(result) => result,
            None if !field.child_keys().is_empty() && !op.starts_with('_') => {
                let mut error = self.unknown_field(op, field.child_keys());
                if closest(op, field.child_keys()).is_none() {
                    error = InputError::new(
                        InputErrorKind::UnknownField,
                        error.path(),
                        format!("no field or operator `{op}`"),
                        format!(
                            "the fields here are: {}; the operators: {}",
                            field.child_keys().join(", "),
                            field.operators().join(", ")
                        ),
                    );
                }
                Err(error)
            }
            None => Err(unknown_operator(field, op, self.pointer())),
        }
    }
}

/// The key in `keys` nearest `key`, if one is near enough to be a typo of it.
fn closest<'k>(key: &str, keys: &[&'k str]) -> Option<&'k str> {
    keys.iter()
        .map(|candidate| (edit_distance(key, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2.min(candidate.len() / 3 + 1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, on characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// The filter `input` describes on the entity whose handles are `fields`.
pub(crate) fn parse_filter<E: 'static, F: DynamicFields<E>>(
    fields: &F,
    input: &Value,
    limits: &Limits,
) -> Result<Filter<E>, InputError> {
    Parser::new(limits).filter(fields, input)
}

/// The field at the dotted `path` (`owner.team`) among `fields`.
pub fn by_path<E: 'static, F: DynamicFields<E> + ?Sized>(fields: &F, path: &str) -> Result<DynField<E>, InputError> {
    let mut keys = path.split('.');
    let missing = |key: &str, known: &[&str], parser: &Parser| parser.unknown_field(key, known);
    let parser = Parser::new(&Limits::default());
    let first = keys.next().unwrap_or_default();
    let mut field = fields.field(first).ok_or_else(|| missing(first, fields.keys(), &parser))?;
    for key in keys {
        field = field.field(key).ok_or_else(|| missing(key, field.child_keys(), &parser))?;
    }
    Ok(field)
}

/// The sort keys `keys` describe (`["-priority", "owner.team"]`).
pub(crate) fn parse_order<E: 'static, F: DynamicFields<E>, S: AsRef<str>>(
    fields: &F,
    keys: &[S],
    limits: &Limits,
) -> Result<Vec<OrderKey<E>>, InputError> {
    let mut parser = Parser::new(limits);
    if keys.len() > limits.max_terms {
        return Err(parser.error(
            InputErrorKind::TooManyTerms,
            format!("{} sort keys, more than the limit of {}", keys.len(), limits.max_terms),
            "sort by fewer keys",
        ));
    }
    keys.iter()
        .enumerate()
        .map(|(i, key)| parser.at(&i.to_string(), |parser| order_key(fields, key.as_ref(), parser)))
        .collect()
}

fn order_key<E: 'static, F: DynamicFields<E>>(
    fields: &F,
    key: &str,
    parser: &mut Parser,
) -> Result<OrderKey<E>, InputError> {
    let (descending, path) = match key.strip_prefix('-') {
        Some(path) => (true, path),
        None => (false, key.strip_prefix('+').unwrap_or(key)),
    };
    if path.is_empty() {
        return Err(parser.error(
            InputErrorKind::Shape,
            "an empty sort key",
            "send a field path, `-` first for descending: \"-priority\"",
        ));
    }
    let field = by_path(fields, path).map_err(|error| {
        InputError::new(
            error.kind(),
            parser.pointer(),
            format!("sort key {key:?}: {}", error.message()),
            error.advice(),
        )
    })?;
    let order = if descending { field.desc() } else { field.asc() };
    order.ok_or_else(|| {
        parser.error(
            InputErrorKind::UnknownOperator,
            format!("a {} field cannot be sorted on", field.family()),
            "sort by text, number, UUID, date or time fields",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance};

    #[test]
    fn typos_find_the_field_meant() {
        assert_eq!(edit_distance("priorty", "priority"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("priorty", &["status", "priority"]), Some("priority"));
        assert_eq!(closest("zzz", &["status", "priority"]), None);
    }
}
