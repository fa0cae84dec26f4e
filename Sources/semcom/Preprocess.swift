import ArgumentParser
struct Preprocess: ParsableCommand {
    func run() throws { throw CLIError("preprocess: not yet") }
}
struct Infer: ParsableCommand {
    func run() throws { throw CLIError("infer: not yet") }
}
