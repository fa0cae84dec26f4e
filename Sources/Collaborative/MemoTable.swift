import Attention
import HDF5IO
import Safety
import Wire

/// The server's memoised predictions: for a server run and a patch
/// ordering, an N x (P+1) int16 table whose column k holds the class the
/// server predicts from the class token plus the first k patches of the
/// ordering, or -1 when not computed yet. Every selection rule keeps a
/// prefix of an ordering, so every rule and threshold is a lookup here.
///
/// Beside it, its top-5 companion (`top5Key`), N x (P+1) x 5: the five
/// most likely classes there, best first (ties: the lower class first, as
/// `topK`), so rank 0 is the memo's class; -1 not computed, -2 past the
/// number of classes. An entry is filled in both tables at once.
public enum MemoTable {
    /// Classes kept per entry by the top-5 companion.
    public static let ranks = 5

    /// `/memo/SERVER/ORDERING`; with a lossy codec (jpeg:Q: the answers on
    /// the patches as decoded) `/memo/SERVER/ORDERING@CODEC`.
    public static func key(server: String, ordering: PatchOrdering, codec: Codec? = nil) -> String {
        CacheLayout.memoTable(server: server, ordering: ordering) + (isLossy(codec) ? "@\(codec!)" : "")
    }

    /// Whether the server's answers under `codec` differ from the clean ones (jpeg:Q).
    static func isLossy(_ codec: Codec?) -> Bool {
        if case .jpeg? = codec { return true }
        return false
    }

    /// `/memo_top5/SERVER/ORDERING`: the top-5 companion of the table at `key`.
    public static func top5Key(_ key: String) -> String { CacheLayout.memoTop5Table(of: key) }

    /// Every memo table in a cache.
    public static func keys(in cache: Cache) throws -> [String] {
        let memo = CacheLayout.memo
        guard try cache.file.contains(memo) else { return [] }
        var out: [String] = []
        for server in try cache.file.openGroup(memo).members() {
            for ordering in try cache.file.openGroup("\(memo)/\(server)").members() {
                out.append("\(memo)/\(server)/\(ordering)")
            }
        }
        return out
    }

    /// The column count (P + 1) of the table at `key`, which must be N x C int16 with N
    /// the cache's image count (a damaged file is an error naming the table).
    public static func columns(_ key: String, in cache: Cache) throws -> Int {
        let shape = try cache.file.openDataset(key).shape
        guard shape.count == 2, shape[0] == cache.images.count, shape[1] >= 2 else {
            throw CacheError(cache.path, "memo table \(key) has shape \(shape), expected \(cache.images.count) x (P + 1)", kind: .corrupt)
        }
        return shape[1]
    }

    /// The stored table at `key` (N x columns, row-major; -1 = not computed), its shape checked.
    public static func stored(_ key: String, in cache: Cache) throws -> [Int16] {
        _ = try columns(key, in: cache)
        return try cache.file.openDataset(key).read(as: Int16.self).values
    }

    /// Creates an empty table (all -1), chunked by rows.
    @discardableResult
    public static func create(in group: HDF5Group, key: String, images n: Int, columns: Int) throws -> HDF5Dataset {
        let table = try group.createDataset(key, of: Int16.self, shape: [n, columns], chunks: [max(1, min(n, 1024)), columns],
                                            deflate: 4, fillValue: -1)
        try CacheLayout.document(table, as: CacheLayout.memo)
        return table
    }

    /// Creates the empty top-5 companion (all -1) of the table at `key`, chunked by rows.
    @discardableResult
    public static func createTop5(in group: HDF5Group, key: String, images n: Int, columns: Int) throws -> HDF5Dataset {
        let table = try group.createDataset(top5Key(key), of: Int16.self, shape: [n, columns, ranks],
                                            chunks: [max(1, min(n, 256)), columns, ranks], deflate: 4, fillValue: -1)
        try CacheLayout.document(table, as: CacheLayout.memoTop5)
        return table
    }
}

/// The order in which an image's patches are offered to the server.
public enum PatchOrdering: Hashable, Sendable, CustomStringConvertible {
    /// By a run's importance measure, descending (ties: lower index first).
    case measure(run: String, measure: ImportanceMeasure)
    /// A random permutation per image, fixed by the seed.
    case random(seed: UInt64)

    /// `RUN:MEASURE` or `random:SEED` (the memo table's name).
    public var description: String {
        switch self {
        case .measure(let run, let measure): return "\(run):\(measure)"
        case .random(let seed): return "random:\(seed)"
        }
    }
}
