//! What a query's text says about the shape of its answer: which of its
//! result columns are comparisons or tests, so their 0 / 1 from the engine
//! are answered as booleans, as Athena answers them.

use sqlparser::ast::{
    BinaryOperator, DataType, Expr, SelectItem, SetExpr, Statement, UnaryOperator,
};

/// For each leading result column of `statement` (up to the first `*`,
/// whose width the text does not tell), whether it is a boolean
/// expression. The first branch of a `UNION` decides, as it names the
/// columns.
pub(super) fn boolean_columns(statement: &Statement) -> Vec<bool> {
    let Statement::Query(query) = statement else {
        return Vec::new();
    };
    projection(&query.body)
        .map(|items| items.iter().map_while(item_is_boolean).collect())
        .unwrap_or_default()
}

fn projection(body: &SetExpr) -> Option<&[SelectItem]> {
    match body {
        SetExpr::Select(select) => Some(&select.projection),
        SetExpr::Query(query) => projection(&query.body),
        SetExpr::SetOperation { left, .. } => projection(left),
        _ => None,
    }
}

/// `None` at a wildcard: the columns after it cannot be placed.
fn item_is_boolean(item: &SelectItem) -> Option<bool> {
    match item {
        SelectItem::UnnamedExpr(expr)
        | SelectItem::ExprWithAlias { expr, .. }
        | SelectItem::ExprWithAliases { expr, .. } => Some(is_boolean(expr)),
        _ => None,
    }
}

fn is_boolean(expr: &Expr) -> bool {
    match expr {
        Expr::Nested(inner) => is_boolean(inner),
        Expr::BinaryOp { op, .. } => is_boolean_operator(op),
        Expr::UnaryOp { op, .. } => *op == UnaryOperator::Not,
        Expr::Cast { data_type, .. } => matches!(data_type, DataType::Boolean | DataType::Bool),
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsNotTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotFalse(_)
        | Expr::IsUnknown(_)
        | Expr::IsNotUnknown(_)
        | Expr::IsDistinctFrom(..)
        | Expr::IsNotDistinctFrom(..)
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::Exists { .. } => true,
        _ => false,
    }
}

fn is_boolean_operator(op: &BinaryOperator) -> bool {
    use BinaryOperator::{And, Eq, Gt, GtEq, Lt, LtEq, NotEq, Or, Xor};
    matches!(op, Gt | Lt | GtEq | LtEq | Eq | NotEq | And | Or | Xor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::GenericDialect;
    use sqlparser::parser::Parser;

    fn shape(sql: &str) -> Vec<bool> {
        let statements = Parser::parse_sql(&GenericDialect {}, sql).expect("parses");
        boolean_columns(&statements[0])
    }

    #[test]
    fn comparisons_and_tests_are_boolean_columns() {
        assert_eq!(
            shape("SELECT a, a > 0 AS ok, (b = 1), NOT c, d IS NULL, e IN (1, 2), count(*) FROM t"),
            [false, true, true, true, true, true, false]
        );
        assert_eq!(
            shape("SELECT CAST(x AS BOOLEAN), x LIKE 'a%' FROM t"),
            [true, true]
        );
    }

    #[test]
    fn a_wildcard_stops_the_count_and_a_union_follows_its_first_branch() {
        assert_eq!(shape("SELECT a > 1, *, b > 1 FROM t"), [true]);
        assert_eq!(shape("SELECT 1 = 1 UNION ALL SELECT 2"), [true]);
        assert_eq!(
            shape("WITH x AS (SELECT 1 AS a) SELECT a < 2 FROM x"),
            [true]
        );
    }
}
