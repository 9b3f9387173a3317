//! The history's `AthenaApi` over the Athena client.

use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};

use super::error::fail;
use super::AwsCloud;
use crate::engine::{CloudError, CloudErrorKind};
use crate::jobs::history::athena::{AthenaApi, AthenaResult, QueryPlace, QueryState, ResultPage};

impl AthenaApi for AwsCloud {
    async fn start_query(&self, sql: &str, place: &QueryPlace) -> AthenaResult<String> {
        let mut req = self
            .athena
            .start_query_execution()
            .query_string(sql)
            .work_group(&place.workgroup);
        if let Some(db) = &place.database {
            req =
                req.query_execution_context(QueryExecutionContext::builder().database(db).build());
        }
        if let Some(loc) = &place.output_location {
            req = req
                .result_configuration(ResultConfiguration::builder().output_location(loc).build());
        }
        let out = req
            .send()
            .await
            .map_err(|e| fail("StartQueryExecution", e))?;
        out.query_execution_id().map(str::to_owned).ok_or_else(|| {
            CloudError::new(
                "StartQueryExecution",
                CloudErrorKind::Other,
                "the reply carries no QueryExecutionId",
            )
        })
    }

    async fn query_state(&self, id: &str) -> AthenaResult<QueryState> {
        let out = self
            .athena
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .map_err(|e| fail("GetQueryExecution", e))?;
        let status = out.query_execution().and_then(|q| q.status());
        let reason = status
            .and_then(|s| s.state_change_reason())
            .unwrap_or("no reason given")
            .to_owned();
        Ok(match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => QueryState::Succeeded,
            Some(QueryExecutionState::Failed) => QueryState::Failed(reason),
            Some(QueryExecutionState::Cancelled) => {
                QueryState::Failed(format!("cancelled: {reason}"))
            }
            _ => QueryState::Running,
        })
    }

    async fn query_page(&self, id: &str, next: Option<String>) -> AthenaResult<ResultPage> {
        let out = self
            .athena
            .get_query_results()
            .query_execution_id(id)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| fail("GetQueryResults", e))?;
        let Some(set) = out.result_set() else {
            return Ok(ResultPage::default());
        };
        let columns = set
            .result_set_metadata()
            .map(|m| {
                m.column_info()
                    .iter()
                    .map(|c| (c.name().to_owned(), c.r#type().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let rows = set
            .rows()
            .iter()
            .map(|r| {
                r.data()
                    .iter()
                    .map(|d| d.var_char_value().map(str::to_owned))
                    .collect()
            })
            .collect();
        Ok(ResultPage {
            columns,
            rows,
            next: out.next_token().map(str::to_owned),
        })
    }
}
