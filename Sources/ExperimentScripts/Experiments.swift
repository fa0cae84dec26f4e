/// The experiment scripts that reproduce the paper's tables and figures
/// (`Experiments/*.semcom` in the repository), compiled into the library by
/// the `EmbedExperiments` build plugin, so that they travel with the tool.
public enum Experiments {
    /// Each script's file name (`fig08.semcom`) and text, by name.
    public static let bundled: [(name: String, text: String)] = embeddedExperiments

    /// The bundled script called `name`, with or without `.semcom` (`fig08`, `fig08.semcom`).
    public static func named(_ name: String) -> (name: String, text: String)? {
        bundled.first { $0.name == name || $0.name == name + ".semcom" }
    }
}
