// The cases share one lab and one PostgreSQL and each needs the machine's two cores: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
