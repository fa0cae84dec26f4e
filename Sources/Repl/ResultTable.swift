import Foundation

/// A command's tabular result: printed aligned (a column with a fraction in
/// it to 4 decimals throughout, so 1 prints as 1.0000 beside 0.7500),
/// exported as CSV (numbers at full precision). The last step after the
/// library's typed values; `plot` and `pareto` read the numbers, not the text.
public struct ResultTable: Equatable, Sendable {
    public var columns: [String]
    public var rows: [[Cell]]
    /// Columns written to CSV but not printed (numbers the printed columns already show in words).
    public var detailColumns: Set<String> = []
    /// Lines printed under the table (e.g. that the numbers are over part of the images).
    public var notes: [String] = []
    /// The REPL command that made the table (`eval`, `sweep`, `pareto`,
    /// `latency`, ...; set by `Session.execute`), nil for one made elsewhere:
    /// `plot` checks that a table is of the kind it draws.
    public var command: String?
    /// The models behind the numbers in words, `EDGE → SERVER` by their
    /// architectures (`RunInfo.architecture`), for plot subtitles; nil when
    /// the rows are not one such pair.
    public var models: String?

    public init(columns: [String], rows: [[Cell]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// A number cell.
    public static func cell(_ v: Double) -> Cell { .number(v) }

    /// The numbers of column `name` (NaN for a text cell), or nil when there is no such column.
    public func numbers(_ name: String) -> [Double]? {
        columns.firstIndex(of: name).map { c in rows.map { $0[c].number ?? .nan } }
    }

    /// Aligned text, one row a line, without the detail columns.
    public var text: String {
        let shown = columns.indices.filter { !detailColumns.contains(columns[$0]) }
        let decimals = columns.indices.map { c in rows.contains { $0[c].number.map { $0.isFinite && $0 != $0.rounded() } ?? false } }
        let cells = rows.map { row in row.indices.map { row[$0].text(decimals: decimals[$0]) } }
        let widths = shown.map { c in ([columns[c]] + cells.map { $0[c] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(shown.map { cells[$0] }, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(columns)] + cells.map(line) + notes.map { "(\($0))" }).joined(separator: "\n")
    }

    /// CSV with a header row; numbers at full precision (the shortest text that reads back to the same Double).
    public var csv: String {
        ([columns] + rows.map { $0.map(\.exact) }).map { $0.map { $0.contains(",") ? "\"\($0)\"" : $0 }.joined(separator: ",") }
            .joined(separator: "\n") + "\n"
    }
}

/// One cell of a `ResultTable`: text, or a number kept as a number.
public enum Cell: Equatable, Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    case text(String)
    case number(Double)

    public init(stringLiteral value: String) { self = .text(value) }

    /// The number, or nil for text.
    public var number: Double? { if case .number(let v) = self { return v } else { return nil } }

    /// As printed alone: integers plainly, other numbers to 4 decimals, NaN as `nan`.
    public var text: String { text(decimals: false) }

    /// As printed: with `decimals` (a column of fractions) every number to
    /// 4 decimals; else integers plainly, other numbers to 4 decimals. NaN as `nan`.
    public func text(decimals: Bool) -> String {
        switch self {
        case .text(let s): return s
        case .number(let v):
            if v.isNaN { return "nan" }
            return !decimals && v == v.rounded() && abs(v) < 1e12 ? String(Int(v)) : String(format: "%.4f", v)
        }
    }

    /// As exported: numbers at full precision (integers plainly).
    public var exact: String {
        switch self {
        case .text(let s): return s
        case .number(let v):
            if v.isNaN { return "nan" }
            return v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)"
        }
    }

    public var description: String { text }
}
