import Foundation

/// A command's tabular result: printed aligned, exported as CSV.
public struct ResultTable: Equatable, Sendable {
    public var columns: [String]
    public var rows: [[String]]
    /// Lines printed under the table (e.g. that the numbers are over part of the images).
    public var notes: [String] = []

    public init(columns: [String], rows: [[String]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// Formats a number for tables: integers plainly, others to 4 decimals.
    public static func cell(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        return v == v.rounded() && abs(v) < 1e12 ? String(Int(v)) : String(format: "%.4f", v)
    }

    /// Aligned text, one row a line.
    public var text: String {
        let widths = columns.indices.map { c in ([columns[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(columns)] + rows.map(line) + notes.map { "(\($0))" }).joined(separator: "\n")
    }

    /// CSV with a header row.
    public var csv: String {
        ([columns] + rows).map { $0.map { $0.contains(",") ? "\"\($0)\"" : $0 }.joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}
