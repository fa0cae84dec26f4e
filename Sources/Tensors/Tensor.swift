/// A dense Float32 tensor: a shape and its scalars in row-major (C) order.
///
/// The type is deliberately small. Kernels in this module work on raw
/// pointers so that a forward pass can run on preallocated buffers; `Tensor`
/// is what goes in and comes out.
public struct Tensor: Sendable, Equatable {
    /// Extent of each dimension, outermost first.
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, row-major.
    public var scalars: [Float]

    /// Wraps `scalars`; their count must equal the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// Number of scalars.
    public var count: Int { scalars.count }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The sub-tensor at index `i` of the first dimension (a copy).
    public subscript(i: Int) -> Tensor {
        precondition(rank >= 1 && i >= 0 && i < shape[0], "index \(i) out of range for shape \(shape)")
        let inner = Array(shape.dropFirst())
        let n = inner.reduce(1, *)
        return Tensor(shape: inner, scalars: Array(scalars[(i * n)..<((i + 1) * n)]))
    }

    /// Stacks tensors of equal shape along a new first dimension.
    public static func stack(_ parts: [Tensor]) -> Tensor {
        guard let first = parts.first else { return Tensor(zeros: [0]) }
        precondition(parts.allSatisfy { $0.shape == first.shape }, "stack: shapes differ")
        return Tensor(shape: [parts.count] + first.shape, scalars: parts.flatMap(\.scalars))
    }
}
