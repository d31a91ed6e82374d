//! Draws the rows/s of a benchmark's Markdown table as an SVG bar chart, for PERFORMANCE.md.
//!
//! `cargo bench -p benches --bench stream | tee stream.txt; cargo run -p benches --bin chart < stream.txt >
//! docs/rows-per-second.svg`
//!
//! It reads the first table of standard input whose header has a column starting with "rows/s": that column is
//! each bar's length, and the cells before it that are not figures its label. Markdown backticks and emphasis
//! are dropped.

use std::io::Read;

use benches::thousands;

const WIDTH: f64 = 860.0;
const LABEL_WIDTH: f64 = 400.0;
const BAR_HEIGHT: f64 = 22.0;
const GAP: f64 = 8.0;
const TOP: f64 = 40.0;

fn cells(line: &str) -> Vec<String> {
    line.trim().trim_matches('|').split('|').map(|cell| cell.trim().replace(['`', '*'], "")).collect()
}

fn number(cell: &str) -> Option<f64> {
    cell.replace(',', "").split_whitespace().next()?.parse().ok()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The (label, rows/s) bars of the first table with a rows/s column, and that column's header.
fn bars(input: &str) -> Option<(String, Vec<(String, f64)>)> {
    let mut lines = input.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.trim_start().starts_with('|') {
            continue;
        }
        let header = cells(line);
        let Some(column) = header.iter().position(|h| h.starts_with("rows/s")) else { continue };
        lines.next(); // the |---| line
        let mut bars = Vec::new();
        while let Some(row) = lines.next_if(|l| l.trim_start().starts_with('|')) {
            let row = cells(row);
            // The label: the cells before the rows/s column that are not figures.
            let label: Vec<&str> =
                row.iter().take(column).filter(|c| number(c).is_none()).map(String::as_str).collect();
            if let Some(value) = row.get(column).and_then(|c| number(c)) {
                bars.push((label.join(", "), value));
            }
        }
        return Some((header[column].clone(), bars));
    }
    None
}

fn svg(title: &str, bars: &[(String, f64)]) -> String {
    let max = bars.iter().map(|(_, v)| *v).fold(1.0, f64::max);
    let height = TOP + bars.len() as f64 * (BAR_HEIGHT + GAP) + 20.0;
    let span = WIDTH - LABEL_WIDTH - 90.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"13\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
        escape(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = TOP + i as f64 * (BAR_HEIGHT + GAP);
        let length = span * value / max;
        let ours = label.starts_with("fraiseql-wire");
        let colour = if ours { "#2b6cb0" } else { "#a0aec0" };
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n\
             <rect x=\"{LABEL_WIDTH}\" y=\"{y:.1}\" width=\"{length:.1}\" height=\"{BAR_HEIGHT}\" fill=\"{colour}\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
            LABEL_WIDTH - 8.0,
            y + BAR_HEIGHT * 0.7,
            escape(label),
            LABEL_WIDTH + length + 6.0,
            y + BAR_HEIGHT * 0.7,
            thousands(*value)
        ));
    }
    out.push_str("</svg>\n");
    out
}

fn main() {
    let mut input = String::new();
    if let Err(error) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("chart: reading standard input: {error}");
        std::process::exit(1);
    }
    let Some((column, bars)) = bars(&input).filter(|(_, bars)| !bars.is_empty()) else {
        eprintln!("chart: no Markdown table with a rows/s column on standard input");
        std::process::exit(1);
    };
    let title = std::env::args().nth(1).unwrap_or(column);
    print!("{}", svg(&title, &bars));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_table_with_rows_per_second_is_drawn() {
        let input = "noise\n| a | b |\n|---|---|\n| x | 1 |\n\n| configuration | rows/s (median) | x |\n|---|---:|---:|\n\
                     | fraiseql-wire `raw` | 229,755 | 1 |\n| tokio-postgres raw | 222,581 | 2 |\ntail\n";
        let (column, drawn_bars) = bars(input).unwrap();
        assert_eq!(column, "rows/s (median)");
        assert_eq!(
            drawn_bars,
            [("fraiseql-wire raw".to_owned(), 229_755.0), ("tokio-postgres raw".to_owned(), 222_581.0)]
        );
        let drawn = svg("t <1>", &drawn_bars);
        assert!(drawn.contains("t &lt;1&gt;") && drawn.contains("229,755") && drawn.contains("#2b6cb0"));
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        let labelled = "| reader | asks for | rows | bytes | rows/s |\n|---|---|---:|---:|---:|\n| wide | all | 20,000 | 1.2 MB | 41,231 |\n";
        assert_eq!(bars(labelled).unwrap().1, [("wide, all".to_owned(), 41_231.0)]);
    }
}
