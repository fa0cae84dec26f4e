import Foundation
import Safety

extension Preprocessing {
    /// The evaluation transform that the files beside a weights file state, as
    /// Hugging Face repositories ship them:
    /// - timm's `config.json`: `pretrained_cfg` (or the top level) with
    ///   `input_size` ([3, S, S]), `crop_pct`, `mean`, `std`, `interpolation`;
    /// - transformers' `preprocessor_config.json`: `crop_size` (S, or
    ///   {height, width}), `size` (the resized shorter side, or {shortest_edge}),
    ///   `image_mean`, `image_std`, `resample` (3 = bicubic); crop_pct = S / size.
    /// Fields a file leaves out keep `defaults`' values; nil when neither file
    /// exists. A malformed field, a non-square input or an interpolation other
    /// than bicubic (the only one implemented) is an error naming the file and
    /// the field.
    public static func stated(besideWeights weights: String, defaults: Preprocessing = Preprocessing()) throws -> Preprocessing? {
        let folder = URL(fileURLWithPath: weights).deletingLastPathComponent()
        // transformers' config.json describes the model only: then preprocessor_config.json.
        if let (path, top) = try readJSON(folder.appendingPathComponent("config.json").path),
           case let cfg = top["pretrained_cfg"] as? [String: Any] ?? top,
           ["input_size", "crop_pct", "mean", "std"].contains(where: { cfg[$0] != nil }) {
            var p = defaults
            let field = Field(path: path, object: cfg)
            if let shape = try field.numbers("input_size") {
                guard shape.count == 3, shape[0] == 3, shape[1] == shape[2], let s = Int(exactly: shape[1]), s >= 1 else {
                    throw field.error("input_size", "is \(shape), expected [3, S, S]")
                }
                p.size = s
            }
            if let c = try field.number("crop_pct") { p.cropPct = c }
            if let m = try field.rgb("mean") { p.mean = m }
            if let s = try field.rgb("std") { p.std = s }
            if let i = cfg["interpolation"] {
                guard i as? String == Preprocessing.interpolation else { throw field.error("interpolation", "is \(i); semcom implements bicubic only") }
            }
            return try p.checked(path)
        }
        if let (path, cfg) = try readJSON(folder.appendingPathComponent("preprocessor_config.json").path) {
            var p = defaults
            let field = Field(path: path, object: cfg)
            func side(_ key: String, _ inner: [String]) throws -> Int? {
                guard let v = cfg[key] else { return nil }
                if let n = v as? Int { return n }
                if let d = v as? [String: Any] {
                    let sides = inner.compactMap { d[$0] as? Int }
                    if let s = sides.first, sides.allSatisfy({ $0 == s }) { return s }
                }
                throw field.error(key, "is \(v), expected a side in pixels (square)")
            }
            let crop = try side("crop_size", ["height", "width"])
            let resized = try side("size", ["shortest_edge", "height", "width"])
            if let crop { p.size = crop }
            if let crop, let resized, resized > 0 { p.cropPct = Double(crop) / Double(resized) }
            if let m = try field.rgb("image_mean") { p.mean = m }
            if let s = try field.rgb("image_std") { p.std = s }
            if let r = cfg["resample"] {
                guard r as? Int == 3 else { throw field.error("resample", "is \(r); semcom implements bicubic (3) only") }
            }
            return try p.checked(path)
        }
        return nil
    }

    /// The same transform, refused (naming `path`) unless its numbers mean something.
    private func checked(_ path: String) throws -> Preprocessing {
        func fail(_ r: String) -> ImagingConfigError { ImagingConfigError(path: path, reason: r) }
        guard Self.sizes.contains(size) else { throw fail("input size \(size), expected \(Self.sizes)") }
        guard cropPct.isFinite, Self.cropPcts.contains(cropPct) else {
            throw fail("crop_pct \(cropPct), expected " + String(format: "[%g, %g]", Self.cropPcts.lowerBound, Self.cropPcts.upperBound))
        }
        for (name, v) in [("std", std), ("mean", mean)] {
            guard (0..<3).allSatisfy({ v[$0].isFinite }), name == "mean" || (0..<3).allSatisfy({ v[$0] > 0 }) else {
                throw fail("\(name) \([v.x, v.y, v.z]), expected finite numbers\(name == "std" ? " > 0" : "")")
            }
        }
        return self
    }

    /// The JSON object in `path`, or nil when there is no such file; an error
    /// (naming the file) for one that is not a regular file holding a JSON object.
    private static func readJSON(_ path: String) throws -> (String, [String: Any])? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            let (fd, size) = try openRegularFile(path, maxBytes: 1 << 20, what: "a JSON file")
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            data = try handle.read(upToCount: size) ?? Data()
        } catch let e as RegularFileError {
            throw ImagingConfigError(path: path, reason: "\(e)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ImagingConfigError(path: path, reason: "not a JSON object")
        }
        return (path, object)
    }

    /// Typed reads of one JSON object's fields, with errors naming the file and the field.
    private struct Field {
        let path: String
        let object: [String: Any]

        func error(_ key: String, _ what: String) -> ImagingConfigError {
            ImagingConfigError(path: path, reason: "field '\(key)' \(what)")
        }

        func number(_ key: String) throws -> Double? {
            guard let v = object[key] else { return nil }
            guard let n = v as? NSNumber else { throw error(key, "is \(v), not a number") }
            return n.doubleValue
        }

        func numbers(_ key: String) throws -> [Double]? {
            guard let v = object[key] else { return nil }
            guard let a = v as? [NSNumber] else { throw error(key, "is \(v), not a list of numbers") }
            return a.map(\.doubleValue)
        }

        func rgb(_ key: String) throws -> SIMD3<Float>? {
            guard let a = try numbers(key) else { return nil }
            guard a.count == 3 else { throw error(key, "has \(a.count) values, expected 3 (R, G, B)") }
            return SIMD3(Float(a[0]), Float(a[1]), Float(a[2]))
        }
    }
}

/// A preprocessing configuration file that cannot be used; one line naming it.
public struct ImagingConfigError: KindedError {
    public let path: String
    public let reason: String
    public let kind: ErrorKind
    public var description: String { "\(path): \(reason)" }
    public init(path: String, reason: String, kind: ErrorKind = .corrupt) {
        self.path = path
        self.reason = reason
        self.kind = kind
    }
}
