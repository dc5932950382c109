//! Blackhole: a sink that discards every row (for benchmarks and dry runs). It counts what it
//! drops into the job's metrics.

use st_sdk::{
    Batch, Describe, NoCommit, OptionSpecs, Options, Result, Sink, SinkWriter, TableSchema,
    TaskContext,
};

pub struct Blackhole;

impl Describe for Blackhole {
    const NAME: &'static str = "Blackhole";
    fn options() -> OptionSpecs {
        OptionSpecs::new()
    }
}

pub struct Writer;

impl SinkWriter for Writer {
    fn write(&mut self, _batch: Batch) -> Result<()> {
        Ok(())
    }
    fn prepare_commit(&mut self, _checkpoint_id: u64) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
}

impl Sink for Blackhole {
    type Writer = Writer;
    type Committer = NoCommit;
    fn writer(
        _: &Options,
        _: &TaskContext,
        _: Vec<TableSchema>,
        _: Vec<Vec<u8>>,
    ) -> Result<Writer> {
        Ok(Writer)
    }
    fn committer(_: &Options, _: &TaskContext, _: Vec<TableSchema>) -> Result<NoCommit> {
        Ok(NoCommit)
    }
}

st_sdk::export_sink!(Blackhole);
