/// What a run of a cache is for: the experiment scripts and the REPL take
/// their default runs from these roles, so they run on any cache.
public enum RunRole: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The small model on the device: it classifies every image and chooses patches.
    case edge
    /// The large model that classifies what the edge sends.
    case server
    /// A second, smaller server (the paper's DeiT-Small setting, Fig. 9).
    case smallServer = "small_server"
    /// The server on whole images reduced to R x R pixels (the Fig. 10 baseline).
    case lowResolution = "low_resolution"
    /// The server on whole images sent as one JPEG (the ordinary system's baseline).
    case jpegBaseline = "jpeg_baseline"

    public var description: String { rawValue }

    /// The script variable that names the run of this role (`$edge`, `$server`, `$small`).
    public var variable: String? {
        switch self {
        case .edge: return "edge"
        case .server: return "server"
        case .smallServer: return "small"
        case .lowResolution, .jpegBaseline: return nil
        }
    }

    /// Roles by size, for runs whose role was not given: a baseline run
    /// (low resolution, whole-image JPEG) has its baseline's role; among the others, the one with the fewest
    /// parameters is the edge, the one with the most the server, and the
    /// largest of the rest the small server (ties: the name decides). Runs
    /// whose role is in `taken` are left out, and so are the roles taken.
    public static func inferred(_ runs: [(name: String, parameters: Int, baseline: RunRole?)],
                                taken: [String: RunRole] = [:]) -> [String: RunRole] {
        var roles: [String: RunRole] = [:]
        let free = runs.filter { taken[$0.name] == nil }
        for r in free { if let b = r.baseline { roles[r.name] = b } }
        var full = free.filter { $0.baseline == nil }.sorted { ($0.parameters, $0.name) < ($1.parameters, $1.name) }
        let used = Set(taken.values)
        if !used.contains(.edge), let first = full.first { roles[first.name] = .edge; full.removeFirst() }
        if !used.contains(.server), let last = full.last { roles[last.name] = .server; full.removeLast() }
        if !used.contains(.smallServer), let last = full.last { roles[last.name] = .smallServer }
        return roles
    }
}

extension Cache {
    /// The run of each role: the roles recorded at build (`role` attribute),
    /// then `RunRole.inferred` for the roles and runs left (older caches).
    public func runRoles() throws -> [RunRole: String] {
        let runs = try runNames().map { try run($0) }
        var recorded: [String: RunRole] = [:]
        for r in runs { if let role = r.role { recorded[r.name] = role } }
        let inferred = RunRole.inferred(runs.map { ($0.name, $0.config.parameterCount, $0.baseline) }, taken: recorded)
        var byRole: [RunRole: String] = [:]
        for (name, role) in recorded.merging(inferred, uniquingKeysWith: { a, _ in a }).sorted(by: { $0.key < $1.key }) where byRole[role] == nil {
            byRole[role] = name
        }
        return byRole
    }
}
