// @generated automatically by Diesel CLI.

diesel::table! {
    #[sql_name = "it's"]
    it_s (id) {
        id -> Integer,
        #[sql_name = r#"say "hi""#]
        say_hi_ -> Nullable<Text>,
        #[sql_name = r##"tag#1 "x""##]
        tag_1_x_ -> Nullable<Text>,
    }
}
