//! `sluice_profile(column)`: the profile as a DataFusion aggregate function.
//!
//! Each partition of a scan updates its own [`ColumnState`]; DataFusion ships the states as one
//! binary value each (the encoded state) and merges them in the final aggregation, so a profile
//! runs on all cores now and on a distributed DataFusion engine later without changes. The
//! function returns the merged state's bytes; [`crate::ColumnProfile::from_state`] reads them.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};

use crate::state::ColumnState;

/// The aggregate function's name in SQL.
pub const NAME: &str = "sluice_profile";

/// The `sluice_profile` aggregate function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ProfileUdaf {
    signature: Signature,
}

impl Default for ProfileUdaf {
    fn default() -> Self {
        ProfileUdaf {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

/// The function, ready to register with `SessionContext::register_udaf`.
pub fn profile_udaf() -> AggregateUDF {
    AggregateUDF::from(ProfileUdaf::default())
}

impl AggregateUDFImpl for ProfileUdaf {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Binary)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[state]", args.name),
            DataType::Binary,
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        let data_type = args.expr_fields[0].data_type();
        Ok(Box::new(ProfileAccumulator {
            state: ColumnState::new(data_type),
        }))
    }
}

/// Builds one partition's [`ColumnState`].
#[derive(Debug)]
struct ProfileAccumulator {
    state: ColumnState,
}

fn df(e: crate::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl Accumulator for ProfileAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        self.state.update(&values[0]).map_err(df)
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(ScalarValue::Binary(Some(self.state.encode())))
    }

    fn size(&self) -> usize {
        self.state.size()
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Binary(Some(self.state.encode()))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        for bytes in states[0].as_binary::<i32>().iter().flatten() {
            let other = ColumnState::decode(bytes).map_err(df)?;
            self.state.merge(&other).map_err(df)?;
        }
        Ok(())
    }
}
