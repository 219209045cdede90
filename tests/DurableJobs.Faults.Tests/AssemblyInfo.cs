// The suite starts several processes per test on a small machine: one test at a time keeps the figures honest
// and the load bounded.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
