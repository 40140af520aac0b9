// libtorch's RNG seed and thread pool are process-wide: run test classes one after another so a
// test that seeds torch or changes its thread count is not disturbed by another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
