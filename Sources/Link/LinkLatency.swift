import Collaborative

/// A live run on a link of known rate and delay against the latency model of
/// Figs. 15-16 (`LatencyModel`): there, a sent image's transfer is its bytes
/// at the uplink rate; here the model also adds the link's propagation delay
/// both ways, and counts the request's bytes on the connection (frame, id,
/// framing and tag; not TCP/IP headers). Means are over the sent images
/// (transfer) or all images (latency).
public struct LinkLatencyComparison: Sendable {
    /// One image of a live run, as much as the comparison needs.
    public struct Row: Sendable {
        public var sent: Bool
        /// The request's bytes on the connection (`EdgeImageResult.linkBytes`).
        public var linkBytes: Int
        /// Measured transfer (`EdgeImageResult.transferMs`) and total latency, ms.
        public var transferMs: Double, totalMs: Double
        public init(sent: Bool, linkBytes: Int, transferMs: Double, totalMs: Double) {
            (self.sent, self.linkBytes, self.transferMs, self.totalMs) = (sent, linkBytes, transferMs, totalMs)
        }
        public init(_ r: EdgeImageResult) { self.init(sent: r.decision.sends, linkBytes: r.linkBytes, transferMs: r.transferMs, totalMs: r.totalMs) }
    }

    public var uplinkMbps: Double, delayMs: Double
    public var images = 0, sent = 0
    public var meanRequestBytes = Double.nan
    public var measuredTransferMs = Double.nan, modelTransferMs = Double.nan
    /// Per image: measured; and with the modelled transfer in place of the measured one.
    public var measuredLatencyMs = Double.nan, modelLatencyMs = Double.nan

    /// Measured over modelled transfer, minus 1.
    public var transferError: Double { measuredTransferMs / modelTransferMs - 1 }

    /// The largest difference between the mean measured and modelled transfer
    /// accepted, ms: `tolerance` of the model, plus the time of `burstBytes`
    /// at the rate, which a token-bucket shaper lets through at once after an
    /// idle gap (its bucket cannot hold less than one packet).
    public func allowedDifferenceMs(tolerance: Double, burstBytes: Int) -> Double {
        tolerance * modelTransferMs + modelTransferMs(bytes: burstBytes) - 2 * delayMs
    }

    /// The modelled transfer of a request of `bytes` on this link, ms.
    public func modelTransferMs(bytes: Int) -> Double {
        var m = LatencyModel()
        m.uplinkMbps = uplinkMbps
        return Double(bytes) * m.msPerByte + 2 * delayMs
    }

    public init(_ rows: [Row], uplinkMbps: Double, delayMs: Double) {
        (self.uplinkMbps, self.delayMs) = (uplinkMbps, delayMs)
        images = rows.count
        let sentRows = rows.filter(\.sent)
        sent = sentRows.count
        func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }
        meanRequestBytes = mean(sentRows.map { Double($0.linkBytes) })
        measuredTransferMs = mean(sentRows.map(\.transferMs))
        modelTransferMs = mean(sentRows.map { modelTransferMs(bytes: $0.linkBytes) })
        measuredLatencyMs = mean(rows.map(\.totalMs))
        modelLatencyMs = mean(rows.map { $0.sent ? $0.totalMs - $0.transferMs + modelTransferMs(bytes: $0.linkBytes) : $0.totalMs })
    }
}
