// @generated automatically by Diesel CLI.

diesel::table! {
    keyed (z) {
        a -> Nullable<Text>,
        b -> Nullable<Text>,
        z -> Integer,
    }
}

diesel::table! {
    zoo (rowid) {
        Ant -> Nullable<Text>,
        _under -> Nullable<Text>,
        apple -> Nullable<Integer>,
        rowid -> Integer,
        zebra -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(keyed, zoo,);
