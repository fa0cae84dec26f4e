// The umbrella module: `import SemComKit` brings in everything a program that
// uses semcom as a library needs (the modules are also products of their own).
@_exported import Attention
@_exported import Collaborative
@_exported import Entropy
@_exported import ExperimentScripts
@_exported import Figures
@_exported import HDF5IO
@_exported import Imaging
@_exported import Link
@_exported import Repl
@_exported import Safety
@_exported import Tensors
@_exported import ViT
@_exported import Wire
