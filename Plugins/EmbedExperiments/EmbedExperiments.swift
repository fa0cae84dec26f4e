import Foundation
import PackagePlugin

/// Compiles the experiment scripts (`Experiments/*.semcom`) into the target
/// that uses this plugin, so that they travel with the `semcom` binary
/// (`semcom demo` runs them from any folder, and after `make install`).
/// The folder stays the one source: a build after editing a script embeds
/// the new text.
@main
struct EmbedExperiments: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let folder = context.package.directoryURL.appending(path: "Experiments")
        let scripts = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "semcom" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedExperiments.swift")
        return [.buildCommand(displayName: "Embedding \(scripts.count) experiment scripts",
                              executable: try context.tool(named: "EmbedScripts").url,
                              arguments: [output.path] + scripts.map(\.path),
                              inputFiles: scripts, outputFiles: [output])]
    }
}
