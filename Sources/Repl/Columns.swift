/// What a result column holds: the one definition of its unit and meaning
/// (`help columns`) and of its words in plots (legends and axis titles).
struct ColumnDoc: Equatable {
    /// The unit ("" for none): in `help columns`, and in parentheses after the quantity on an axis.
    let unit: String
    /// What the number is.
    let meaning: String
    /// In a legend: the words for a line or bar of it.
    let series: String
    /// On an axis: the quantity.
    let quantity: String

    init(_ unit: String, _ meaning: String, series: String, quantity: String? = nil) {
        (self.unit, self.meaning, self.series) = (unit, meaning, series)
        self.quantity = quantity ?? series
    }

    /// The axis title: the quantity with its unit in parentheses.
    var axis: String { unit.isEmpty ? quantity : "\(quantity) (\(unit))" }
}

private let accuracy = (quantity: "top-1 accuracy", top5: "top-5 accuracy", unit: "fraction of labelled images")
private let latency = (quantity: "latency per image", unit: "ms")

/// Every column of the REPL's tables (`evaluationTable` and `lowres`,
/// `latencyTable`, `paperTable`, `histogramTable`, `modelsTable`).
let columnDocs: [String: ColumnDoc] = [
    "run": ColumnDoc("", "the low-resolution server run", series: "run"),
    "resolution": ColumnDoc("px", "R: the image is sent reduced to R x R pixels", series: "image side sent"),
    "jpeg_quality": ColumnDoc("", "Q: the whole image is sent as one JPEG at quality Q (1-100)", series: "JPEG quality"),
    "rule": ColumnDoc("", "the selection rule (help rules); 'whole image' for lowres", series: "selection rule"),
    "rule_param": ColumnDoc("D, T or K", "the rule's parameter", series: "rule parameter", quantity: "selection rule parameter"),
    "gate": ColumnDoc("", "the gate (help gates)", series: "gate"),
    "gate_threshold": ColumnDoc("bits", "the gate's threshold (a margin: in [0, 1]; 0 for none)", series: "gate threshold", quantity: "gate threshold eta"),
    "accuracy": ColumnDoc(accuracy.unit, "collaborative top-1: the edge's answer for confident images, the server's on the kept patches for sent ones",
                          series: "collaborative", quantity: accuracy.quantity),
    "edge_accuracy": ColumnDoc(accuracy.unit, "top-1 of the edge alone on full images", series: "edge model alone", quantity: accuracy.quantity),
    "server_accuracy": ColumnDoc(accuracy.unit, "top-1 of the server alone on full images", series: "server model alone", quantity: accuracy.quantity),
    "sent_fraction": ColumnDoc("fraction", "of the images, those sent to the server", series: "images sent", quantity: "images sent to the server"),
    "patches_per_sent": ColumnDoc("patches", "mean patches kept per sent image (0 when none is sent; lowres: the patch-equivalent P (R/S)^2)",
                                  series: "patches per sent image"),
    "patches_per_image": ColumnDoc("patches", "mean patches kept per image, every image sent (Table II)", series: "patches per image", quantity: "patches sent per image"),
    "comm_cost": ColumnDoc("fraction of patches sent", "communication cost: sent_fraction x patches_per_sent / P", series: "communication cost"),
    "server_gflops": ColumnDoc("GFLOPs", "mean server multiply-adds per image / 10^9 (eq. 9 on the tokens it sees; 0 for confident images)",
                               series: "server compute", quantity: "server compute per image"),
    "latency_ms": ColumnDoc(latency.unit, "mean latency per image: edge_ms + uplink_ms + server_ms (help latency)",
                            series: "collaborative (edge + uplink + server)", quantity: latency.quantity),
    "edge_ms": ColumnDoc(latency.unit, "the edge's time per image", series: "edge compute", quantity: latency.quantity),
    "bytes_per_image": ColumnDoc("bytes", "mean bytes sent per image (0 for one kept on the edge): the wire frame under the codec (set codec), else the paper's count of 3 bytes a pixel of each kept patch and a P-bit mask", series: "bytes per image"),
    "uplink_ms": ColumnDoc(latency.unit, "mean upload time per image", series: "uplink transfer", quantity: latency.quantity),
    "server_ms": ColumnDoc(latency.unit, "mean server time per image", series: "server compute", quantity: latency.quantity),
    "full_image_ms": ColumnDoc(latency.unit, "the whole image uploaded and classified by the server, no edge (help latency)",
                               series: "full image to server (server only)", quantity: latency.quantity),
    "uplink_mbps": ColumnDoc("Mbit/s", "the uplink rate of the latency model", series: "uplink rate"),
    "images": ColumnDoc("count", "images evaluated: built in every run used, and readable", series: "images"),
    "labelled": ColumnDoc("count", "of those, the images with a label (the accuracies are over these)", series: "labelled images"),
    "total_images": ColumnDoc("count", "images in the cache", series: "images in the cache"),
    "unreadable_images": ColumnDoc("count", "unreadable images among the built rows, left out", series: "unreadable images"),
    "partial": ColumnDoc("0 or 1", "1 when rows not built yet were left out (set partial on)", series: "partial"),
    "confident_images": ColumnDoc("count", "images kept on the edge", series: "images kept on the edge"),
    "mean_min_attention": ColumnDoc("fraction of attention", "over the sent images that keep a patch, the mean smallest kept score (nan when none is sent)",
                                    series: "smallest kept score", quantity: "mean smallest kept patch score"),
    "mean_attention_sum": ColumnDoc("fraction of attention", "over the sent images, the mean sum of the kept scores (nan when none is sent)",
                                    series: "kept attention", quantity: "mean kept attention"),
    "accuracy_top5": ColumnDoc(accuracy.unit, "top-5 of Algorithm 1: the edge's five classes for a kept image, the server's on the kept patches for a sent one",
                               series: "collaborative, top 5", quantity: accuracy.top5),
    "edge_accuracy_top5": ColumnDoc(accuracy.unit, "top-5 of the edge alone on full images", series: "edge model alone, top 5", quantity: accuracy.top5),
    "server_accuracy_top5": ColumnDoc(accuracy.unit, "top-5 of the server alone on full images", series: "server model alone, top 5", quantity: accuracy.top5),
    "pareto": ColumnDoc("0 or 1", "1 when no other row has a cost <= and an accuracy >=, one of them strictly", series: "Pareto-optimal"),
    "delta": ColumnDoc("fraction of attention", "the attention-sum threshold (Table II)", series: "attention-sum threshold", quantity: "attention-sum threshold delta"),
    "eta": ColumnDoc("bits", "the min-entropy threshold (Table III)", series: "min-entropy threshold", quantity: "min-entropy threshold eta"),
    "params_M": ColumnDoc("millions", "learned parameters / 10^6", series: "parameters"),
    "memory_MB": ColumnDoc("MiB", "the parameters' float32 size", series: "memory", quantity: "float32 memory"),
    "gflops": ColumnDoc("GFLOPs", "multiply-adds / 10^9 of one full image (patch embedding, encoder, head)", series: "compute per image"),
    "bin_start": ColumnDoc("fraction of attention; 1/P is uniform", "the lower edge of a histogram bin of patch scores", series: "patch score"),
]

/// The doc of `column`: from `columnDocs`, else the name with spaces for underscores (no unit).
func words(_ column: String) -> ColumnDoc {
    columnDocs[column] ?? ColumnDoc("", "", series: column.replacingOccurrences(of: "_", with: " "))
}

/// One axis title for several columns: their shared title, else the quantities joined.
func axisTitle(_ columns: [String]) -> String {
    let titles = columns.map { words($0).axis }
    if Set(titles).count == 1 { return titles[0] }
    return columns.map { words($0).quantity }.joined(separator: " / ")
}
