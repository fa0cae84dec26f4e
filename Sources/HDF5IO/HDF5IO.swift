// HDF5IO: a thin Swift wrapper over the HDF5 C library (Debian's serial libhdf5).
//
//     let file = try HDF5File.openOrCreate("cache.h5")
//     let run = try file.requireGroup("runs/tiny")
//     try run.setAttribute("weights_sha256", to: hash)
//     let logits = try run.contains("logits")
//         ? run.openDataset("logits")
//         : try run.createDataset("logits", of: Float.self, shape: [0, 1000],
//                                 maxShape: [nil, 1000], deflate: 4)
//     let rows = try logits.append(batchLogits)               // whole rows, C order
//     let back = try logits.read(as: Float.self, rows: rows)  // values + shape
//
// Files, one HDF5 concept each: File (files: create, open, flush, close),
// Group (groups: create with intermediates, open, list, contains, remove),
// Dataset / Dataset+Create / Dataset+IO (datasets: create, read and write
// whole or by hyperslab, resize, append), Attribute (attributes on files,
// groups, datasets), Datatype (Swift element types <-> HDF5 types),
// Dataspace (shapes, hyperslabs), ElementIO (the one generic value copier),
// Errors (HDF5Error), Handle/Object (identifier ownership), Library (the lock,
// initialisation, constants for C macros).
//
// Rules kept throughout:
// - No C type in the public API; identifiers are closed in deinit or close().
// - One global recursive lock around every HDF5 call (serial HDF5 is not
//   thread-safe); HDF5's automatic error printing is turned off.
// - Types are checked: reading or writing a dataset as a Swift type other than
//   the stored one throws `.typeMismatch` unless `converting: true` (numeric only).
// - Errors name file, object path and operation on one line; a missing object
//   is `.notFound`, distinct from a missing (`.fileNotFound`), non-HDF5
//   (`.notHDF5`) or damaged (`.corrupt`) file.
// - Open a given file once per process at a time: HDF5 shares one open file
//   between handles, and closing one (strong close degree) closes the objects
//   opened through it.
