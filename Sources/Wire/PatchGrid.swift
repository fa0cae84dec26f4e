/// The patches of a square-patched image: `columns` x `rows` patches of
/// `patchSize` x `patchSize` pixels, numbered row by row from the top left
/// (patch i is in column i % columns, row i / columns), as a ViT's tokens are.
public struct PatchGrid: Sendable, Hashable {
    /// Side of a patch in pixels, at least 1.
    public let patchSize: Int
    public let columns: Int
    public let rows: Int

    public init(patchSize: Int, columns: Int, rows: Int) {
        precondition(patchSize > 0 && columns > 0 && rows > 0, "a grid needs patches: \(patchSize) px, \(columns) x \(rows)")
        self.patchSize = patchSize
        self.columns = columns
        self.rows = rows
    }

    /// The number of patches P.
    public var count: Int { columns * rows }
    /// Bytes of one patch's 8-bit RGB samples.
    public var patchBytes: Int { patchSize * patchSize * 3 }
    /// The image's width and height in pixels.
    public var width: Int { columns * patchSize }
    public var height: Int { rows * patchSize }
}
