// (c) A model run on a folder of images, the results read as typed values.
//
//     swift run --package-path Examples run-model WEIGHTS.safetensors FOLDER
//
// FOLDER is an ImageFolder tree (one subfolder per class, sorted names are
// the class indices) or a CSV of path,label, as `semcom cache build` takes.
// The preprocessing comes from the config.json beside the weights.
import Foundation
import SemComKit

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: run-model WEIGHTS.safetensors FOLDER\n".utf8))
    exit(2)
}
do {
    var classifier = try Classifier(weights: arguments[1])
    classifier.threads = ProcessInfo.processInfo.activeProcessorCount
    let images = try ImageList.load(arguments[2])
    let (results, failed) = classifier.classify(images.paths)
    for f in failed { FileHandle.standardError.write(Data("\(f.path): \(f.error)\n".utf8)) }

    let label = Dictionary(uniqueKeysWithValues: zip(images.paths, images.labels))
    let correct = results.filter { Int32($0.predictedClass) == label[$0.path] }.count
    let confident = results.filter { $0.minEntropy < 0.8 }
    print("images \(results.count)")
    print("accuracy \(Double(correct) / Double(results.count))")
    print("confident (min-entropy < 0.8 bits) \(confident.count)")
    // Where the class token looks on the least confident image.
    if let hardest = results.max(by: { $0.minEntropy < $1.minEntropy }) {
        let top = hardest.importance.indices.sorted { hardest.importance[$0] > hardest.importance[$1] }.prefix(5)
        print("least confident: \(hardest.path), min-entropy \(hardest.minEntropy) bits, top patches \(Array(top))")
    }
} catch {
    FileHandle.standardError.write(Data("run-model: \(error)\n".utf8))
    exit(1)
}
