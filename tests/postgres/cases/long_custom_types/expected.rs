// @generated automatically by Diesel CLI.

pub mod reporting_and_analytics {
    pub mod sql_types {
        #[derive(
            diesel::query_builder::QueryId,
            Clone,
            Debug,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            diesel::sql_types::SqlType,
        )]
        #[diesel(postgres_type(
            name = "quarterly_revenue_recognition_status_for_enterprise_customers",
            schema = "reporting_and_analytics"
        ))]
        pub struct QuarterlyRevenueRecognitionStatusForEnterpriseCustomers;

        #[derive(
            diesel::query_builder::QueryId,
            Clone,
            Debug,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            diesel::sql_types::SqlType,
        )]
        #[diesel(postgres_type(name = r##"Weird "Type" #1"##))]
        pub struct WeirdType1;
    }

    diesel::table! {
        use diesel::sql_types::*;
        use super::sql_types::QuarterlyRevenueRecognitionStatusForEnterpriseCustomers;
        use super::sql_types::WeirdType1;

        reporting_and_analytics.statements (id) {
            id -> Int4,
            status -> QuarterlyRevenueRecognitionStatusForEnterpriseCustomers,
            weird -> Nullable<WeirdType1>,
        }
    }
}
// @generated automatically by Diesel CLI.

pub mod reporting_and_analytics {
    pub mod sql_types {
        #[derive(
            Clone,
            Debug,
            PartialEq,
            Eq,
            Hash,
            diesel::query_builder::QueryId,
            diesel::sql_types::SqlType,
        )]
        #[diesel(postgres_type(
            name = "quarterly_revenue_recognition_status_for_enterprise_customers",
            schema = "reporting_and_analytics"
        ))]
        pub struct QuarterlyRevenueRecognitionStatusForEnterpriseCustomers;

        #[derive(
            Clone,
            Debug,
            PartialEq,
            Eq,
            Hash,
            diesel::query_builder::QueryId,
            diesel::sql_types::SqlType,
        )]
        #[diesel(postgres_type(name = r##"Weird "Type" #1"##))]
        pub struct WeirdType1;
    }

    diesel::table! {
        use diesel::sql_types::*;
        use super::sql_types::QuarterlyRevenueRecognitionStatusForEnterpriseCustomers;
        use super::sql_types::WeirdType1;

        reporting_and_analytics.statements (id) {
            id -> Int4,
            status -> QuarterlyRevenueRecognitionStatusForEnterpriseCustomers,
            weird -> Nullable<WeirdType1>,
        }
    }
}
