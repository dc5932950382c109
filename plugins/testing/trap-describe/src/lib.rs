//! A test sink whose `describe()` traps: loading it must fail with the plugin's name and cause.

use st_sdk::{
    Batch, Describe, OptionSpecs, Options, Result, Sink, SinkWriter, TableSchema, TaskContext,
};

pub struct TrapDescribe;

impl Describe for TrapDescribe {
    const NAME: &'static str = "TrapDescribe";

    fn options() -> OptionSpecs {
        panic!("describe() exploded on purpose")
    }
}

pub struct Writer;

impl SinkWriter for Writer {
    fn write(&mut self, _: Batch) -> Result<()> {
        Ok(())
    }
    fn prepare_commit(&mut self, _: u64) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
}

impl Sink for TrapDescribe {
    type Writer = Writer;
    type Committer = st_sdk::NoCommit;

    fn writer(
        _: &Options,
        _: &TaskContext,
        _: Vec<TableSchema>,
        _: Vec<Vec<u8>>,
    ) -> Result<Writer> {
        Ok(Writer)
    }
    fn committer(_: &Options, _: &TaskContext, _: Vec<TableSchema>) -> Result<st_sdk::NoCommit> {
        Ok(st_sdk::NoCommit)
    }
}

st_sdk::export_sink!(TrapDescribe);
