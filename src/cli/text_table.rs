//! Aligned text tables for people (query results, `call --format table`):
//! columns sized by their display width, so names in any script, emoji or
//! `µs` line up in a terminal (comfy-table measures Unicode widths).

use comfy_table::{presets, CellAlignment, ColumnConstraint, ContentArrangement, Table};

/// `header` over `rows`, columns two spaces apart, each line trimmed, every
/// line starting with `indent`.
pub(crate) fn render(header: &[String], rows: &[Vec<String>], indent: &str) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        // Never wrap: a table piped to a file or a pager keeps one line a row.
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header)
        .add_rows(rows);
    for col in t.column_iter_mut() {
        col.set_padding((0, 2));
        col.set_cell_alignment(CellAlignment::Left);
        col.set_constraint(ColumnConstraint::ContentWidth);
    }
    t.lines()
        .map(|l| format!("{indent}{}\n", l.trim_end()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_keep_the_columns_aligned() {
        let header = ["model".to_owned(), "ttft_ms".to_owned()];
        let rows = vec![
            vec!["通义千问-7B".to_owned(), "12.5".to_owned()],
            vec!["llama".to_owned(), "9.0".to_owned()],
        ];
        // 通义千问 is four characters two columns wide: the model column is
        // 11 columns, then two spaces.
        assert_eq!(
            render(&header, &rows, "  "),
            "  model        ttft_ms\n  通义千问-7B  12.5\n  llama        9.0\n"
        );
    }
}
