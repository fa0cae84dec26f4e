/// A rectangle of output pixels: columns `x ..< x + width`, rows `y ..< y + height`.
struct PixelWindow: Sendable, Equatable {
    var x: Int, y: Int, width: Int, height: Int
}

extension RGBImage {
    /// This image resized to `width` x `height` exactly as Pillow's
    /// `Image.resize((width, height), Image.BICUBIC)` resizes an RGB image:
    /// two separable passes, each an integer sum with 22-bit coefficients (see
    /// `ResampleAxis`), rounded and clipped to 8 bits after each pass; a pass
    /// whose size does not change is skipped. Downscaling antialiases (the
    /// kernel is stretched by the scale factor). The pass order is Pillow's
    /// (see `resampleVerticalFirst`).
    public func resizedBicubic(width: Int, height: Int) -> RGBImage {
        resampledBicubic(width: width, height: height,
                         window: PixelWindow(x: 0, y: 0, width: width, height: height))
    }

    /// The pixels in `window` of `resizedBicubic(width:height:)`, computing only
    /// those: every output sample is Pillow's, whatever the window.
    func resampledBicubic(width outWidth: Int, height outHeight: Int, window: PixelWindow) -> RGBImage {
        precondition(outWidth > 0 && outHeight > 0, "resize to \(outWidth)x\(outHeight)")
        precondition(window.x >= 0 && window.y >= 0 && window.width > 0 && window.height > 0
                     && window.x + window.width <= outWidth && window.y + window.height <= outHeight,
                     "window \(window) outside \(outWidth)x\(outHeight)")
        let columns = window.x ..< window.x + window.width
        let rows = window.y ..< window.y + window.height
        let horizontal = outWidth != width ? ResampleAxis(inSize: width, outSize: outWidth, outputs: columns) : nil
        let vertical = outHeight != height ? ResampleAxis(inSize: height, outSize: outHeight, outputs: rows) : nil

        // Source rows and columns that the window reads, through one axis's filter.
        func inputs(_ axis: ResampleAxis?, _ outputs: Range<Int>) -> Range<Int> {
            guard let axis else { return outputs }
            let first = outputs.map { axis.start[$0 - axis.first] }.min()!
            let end = outputs.map { axis.start[$0 - axis.first] + axis.count[$0 - axis.first] }.max()!
            return first ..< end
        }
        let sourceRows = inputs(vertical, rows)
        let sourceColumns = inputs(horizontal, columns)

        var stage: [UInt8]
        if resampleVerticalFirst(inWidth: width, inHeight: height, outWidth: outWidth, outHeight: outHeight) {
            // Vertical pass on the source columns that the horizontal pass will read.
            stage = copyRegion(pixels, width: width, rows: sourceRows, columns: sourceColumns)
            if let vertical {
                stage = resampleColumns(stage, width: sourceColumns.count, firstRow: sourceRows.lowerBound,
                                        rows: rows, axis: vertical)
            }
            if let horizontal {
                stage = resampleRows(stage, width: sourceColumns.count, firstColumn: sourceColumns.lowerBound,
                                     rows: 0 ..< rows.count, columns: columns, axis: horizontal)
            }
        } else {
            if let horizontal {
                stage = resampleRows(pixels, width: width, firstColumn: 0,
                                     rows: sourceRows, columns: columns, axis: horizontal)
            } else {
                stage = copyRegion(pixels, width: width, rows: sourceRows, columns: columns)
            }
            if let vertical {
                stage = resampleColumns(stage, width: columns.count, firstRow: sourceRows.lowerBound,
                                        rows: rows, axis: vertical)
            }
        }
        return RGBImage(width: window.width, height: window.height, pixels: stage)
    }
}

/// Pillow's choice of pass order (Pillow >= 13; earlier versions always run
/// the horizontal pass first): vertical first when the height shrinks by more
/// than twice as many pixels as the width, `inH - outH > max(0, 2 (inW - outW))`.
/// The order changes the 8-bit rounding between passes, so it must match.
func resampleVerticalFirst(inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int) -> Bool {
    inHeight - outHeight > 0 && inHeight - outHeight > (inWidth - outWidth) * 2
}

/// Horizontal pass: for each row in `rows` of `source` (`width` pixels per
/// row, HWC, its column 0 being input column `firstColumn`), output columns
/// `columns` of the resampled row.
private func resampleRows(_ source: [UInt8], width: Int, firstColumn: Int, rows: Range<Int>,
                          columns: Range<Int>, axis: ResampleAxis) -> [UInt8] {
    let outRowLength = columns.count * 3
    let half: Int32 = 1 << (resamplePrecisionBits - 1)
    return [UInt8](unsafeUninitializedCapacity: rows.count * outRowLength) { out, initialized in
        source.withUnsafeBufferPointer { src in
            axis.weights.withUnsafeBufferPointer { weights in
                axis.start.withUnsafeBufferPointer { start in
                    axis.count.withUnsafeBufferPointer { count in
                        for (r, row) in rows.enumerated() {
                            let srcRow = src.baseAddress! + row * width * 3
                            let outRow = out.baseAddress! + r * outRowLength
                            for (c, column) in columns.enumerated() {
                                let a = column - axis.first
                                let w = weights.baseAddress! + a * axis.taps
                                var p = srcRow + (start[a] - firstColumn) * 3
                                var s0 = half, s1 = half, s2 = half
                                for k in 0..<count[a] {
                                    let wk = w[k]
                                    s0 &+= Int32(p[0]) &* wk
                                    s1 &+= Int32(p[1]) &* wk
                                    s2 &+= Int32(p[2]) &* wk
                                    p += 3
                                }
                                outRow[c * 3] = clip8(s0)
                                outRow[c * 3 + 1] = clip8(s1)
                                outRow[c * 3 + 2] = clip8(s2)
                            }
                        }
                    }
                }
            }
        }
        initialized = rows.count * outRowLength
    }
}

/// Vertical pass: output rows `rows` of the resampled image, from `stage`, whose
/// first row is source row `firstRow` (`width` pixels per row, HWC).
private func resampleColumns(_ stage: [UInt8], width: Int, firstRow: Int,
                             rows: Range<Int>, axis: ResampleAxis) -> [UInt8] {
    let rowLength = width * 3
    let half: Int32 = 1 << (resamplePrecisionBits - 1)
    var sums = [Int32](repeating: 0, count: rowLength)
    return [UInt8](unsafeUninitializedCapacity: rows.count * rowLength) { out, initialized in
        stage.withUnsafeBufferPointer { src in
            sums.withUnsafeMutableBufferPointer { sum in
                for (r, row) in rows.enumerated() {
                    for i in 0..<rowLength { sum[i] = half }
                    let a = row - axis.first
                    for k in 0..<axis.count[a] {
                        let wk = axis.weights[a * axis.taps + k]
                        let srcRow = src.baseAddress! + (axis.start[a] + k - firstRow) * rowLength
                        for i in 0..<rowLength { sum[i] &+= Int32(srcRow[i]) &* wk }
                    }
                    let outRow = out.baseAddress! + r * rowLength
                    for i in 0..<rowLength { outRow[i] = clip8(sum[i]) }
                }
            }
        }
        initialized = rows.count * rowLength
    }
}

/// Rows `rows`, columns `columns` of an HWC image `width` pixels wide.
func copyRegion(_ source: [UInt8], width: Int, rows: Range<Int>, columns: Range<Int>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(rows.count * columns.count * 3)
    for row in rows {
        let begin = (row * width + columns.lowerBound) * 3
        out.append(contentsOf: source[begin ..< begin + columns.count * 3])
    }
    return out
}
