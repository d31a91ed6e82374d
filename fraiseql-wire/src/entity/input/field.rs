//! Handles looked up by name at run time: [`DynField`], and the traits generated code implements to offer them.

use std::fmt;
use std::rc::Rc;

use serde_json::Value;

use super::kinds::{DynamicKind, null_operation};
use super::parse::Parser;
use crate::entity::field::Field;
use crate::entity::kind::FieldType;
use crate::entity::location::Location;
use crate::entity::{Filter, OrderKey};
use crate::error::{InputError, InputErrorKind};

/// The handles of an entity or document, by the JSON key of each field (generated).
#[doc(hidden)]
pub trait DynamicFields<E>: 'static {
    /// The handle of the field at `key`.
    fn field(&self, key: &str) -> Option<DynField<E>>;

    /// Every field's key, in declaration order.
    fn keys(&self) -> &'static [&'static str];

    /// An operator on the document as a whole (`contains`, `is_null`, `is_variant`…): `None` if it has none of
    /// that name.
    fn operation(&self, _op: &str, _value: &Value, _parser: &mut Parser) -> Option<Result<Filter<E>, InputError>> {
        None
    }

    /// The names of [`operation`](DynamicFields::operation)'s operators.
    fn operations(&self) -> &'static [&'static str] {
        &[]
    }
}

/// A handle that can be looked up by name: a [`Field`], or a document's generated handles.
#[doc(hidden)]
pub trait Dynamic<E> {
    fn dynamic(&self) -> DynField<E>;
}

/// What a [`DynField`] does, by the kind of handle it wraps.
pub(super) trait Operate<E> {
    fn family(&self) -> &'static str;
    fn nullable(&self) -> bool;
    fn operators(&self) -> Vec<&'static str>;
    /// `None`: no operator `op` on this field.
    fn apply(&self, op: &str, value: &Value, parser: &mut Parser) -> Option<Result<Filter<E>, InputError>>;
    fn child(&self, key: &str) -> Option<DynField<E>>;
    fn child_keys(&self) -> &'static [&'static str];
    fn order(&self, descending: bool) -> Option<OrderKey<E>>;
}

/// A field's handle found by name ([`by_path`](super::by_path), `Project::fields().by_path("owner.team")`), for
/// code that builds filters from its own input: its operators by name, with JSON values, give the same
/// [`Filter`]s and [`OrderKey`]s as the typed handle's methods.
pub struct DynField<E> {
    operate: Rc<dyn Operate<E>>,
}

impl<E> Clone for DynField<E> {
    fn clone(&self) -> Self {
        DynField { operate: Rc::clone(&self.operate) }
    }
}

impl<E: 'static> fmt::Debug for DynField<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynField").field("family", &self.family()).field("nullable", &self.nullable()).finish()
    }
}

impl<E: 'static> DynField<E> {
    /// The handle of a document's fields, which sits at `location`.
    #[doc(hidden)]
    pub fn document<F: DynamicFields<E>, D>(fields: F, location: &Location<E, D>) -> Self {
        DynField { operate: Rc::new(DocumentNode { fields, nullable: location.optional }) }
    }

    /// How the field compares, as [`FieldSchema::family`](crate::entity::schema::FieldSchema::family) names it.
    pub fn family(&self) -> &'static str {
        self.operate.family()
    }

    /// It may be missing or null.
    pub fn nullable(&self) -> bool {
        self.operate.nullable()
    }

    /// The operators [`apply`](DynField::apply) accepts.
    pub fn operators(&self) -> Vec<&'static str> {
        self.operate.operators()
    }

    /// The handle of the field `key` inside this one (a nested document's).
    pub fn field(&self, key: &str) -> Option<DynField<E>> {
        self.operate.child(key)
    }

    /// The operator `op` with `value` (as it would appear in a filter input: `apply("gte", &json!(3))`).
    pub fn apply(&self, op: &str, value: &Value) -> Result<Filter<E>, InputError> {
        let mut parser = Parser::new(&super::Limits::default());
        parser.operator(self, op, value)
    }

    /// Ascending order on this field, if it can be ordered.
    pub fn asc(&self) -> Option<OrderKey<E>> {
        self.operate.order(false)
    }

    /// Descending order on this field, if it can be ordered.
    pub fn desc(&self) -> Option<OrderKey<E>> {
        self.operate.order(true)
    }

    pub(super) fn apply_in(
        &self,
        op: &str,
        value: &Value,
        parser: &mut Parser,
    ) -> Option<Result<Filter<E>, InputError>> {
        self.operate.apply(op, value, parser)
    }

    pub(super) fn child_keys(&self) -> &'static [&'static str] {
        self.operate.child_keys()
    }
}

impl<E: 'static, T: FieldType + 'static> Dynamic<E> for Field<E, T>
where
    T::Kind: DynamicKind<E, T>,
{
    fn dynamic(&self) -> DynField<E> {
        DynField { operate: Rc::new(FieldNode(self.clone())) }
    }
}

/// A value field.
struct FieldNode<E, T>(Field<E, T>);

impl<E: 'static, T: FieldType + 'static> Operate<E> for FieldNode<E, T>
where
    T::Kind: DynamicKind<E, T>,
{
    fn family(&self) -> &'static str {
        <T::Kind as crate::entity::schema::Describe>::FAMILY
    }

    fn nullable(&self) -> bool {
        T::NULLABLE || self.0.location.optional
    }

    fn operators(&self) -> Vec<&'static str> {
        let mut operators = super::kinds::operators(self.family()).to_vec();
        if T::NULLABLE {
            operators.extend(super::kinds::NULL_OPERATORS);
        }
        operators
    }

    fn apply(&self, op: &str, value: &Value, parser: &mut Parser) -> Option<Result<Filter<E>, InputError>> {
        if T::NULLABLE {
            if let Some(result) = null_operation(&self.0.location, op, value, parser) {
                return Some(result);
            }
        }
        <T::Kind as DynamicKind<E, T>>::apply(&self.0, op, value, parser)
    }

    fn child(&self, _key: &str) -> Option<DynField<E>> {
        None
    }

    fn child_keys(&self) -> &'static [&'static str] {
        &[]
    }

    fn order(&self, descending: bool) -> Option<OrderKey<E>> {
        <T::Kind as DynamicKind<E, T>>::order(&self.0, descending)
    }
}

/// A nested document (or enum with data): its fields by key, and its own operators.
struct DocumentNode<F> {
    fields: F,
    nullable: bool,
}

impl<E: 'static, F: DynamicFields<E>> Operate<E> for DocumentNode<F> {
    fn family(&self) -> &'static str {
        "document"
    }

    fn nullable(&self) -> bool {
        self.nullable
    }

    fn operators(&self) -> Vec<&'static str> {
        self.fields.operations().to_vec()
    }

    fn apply(&self, op: &str, value: &Value, parser: &mut Parser) -> Option<Result<Filter<E>, InputError>> {
        self.fields.operation(op, value, parser)
    }

    fn child(&self, key: &str) -> Option<DynField<E>> {
        self.fields.field(key)
    }

    fn child_keys(&self) -> &'static [&'static str] {
        self.fields.keys()
    }

    fn order(&self, _descending: bool) -> Option<OrderKey<E>> {
        None
    }
}

/// The error for an operator a field does not have.
pub(super) fn unknown_operator<E: 'static>(field: &DynField<E>, op: &str, path: String) -> InputError {
    let operators = field.operators();
    let advice = if operators.is_empty() {
        "this field cannot be filtered from input; filter on a typed field instead".to_owned()
    } else {
        format!("use one of: {}", operators.join(", "))
    };
    InputError::new(
        InputErrorKind::UnknownOperator,
        path,
        format!("a {} field has no operator `{op}`", field.family()),
        advice,
    )
}
