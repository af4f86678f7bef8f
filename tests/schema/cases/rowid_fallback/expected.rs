// @generated automatically by Diesel CLI.

diesel::table! {
    pairs (b, a) {
        b -> Nullable<Integer>,
        a -> Nullable<Integer>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    pk_not_null (code) {
        code -> Text,
        label -> Nullable<Text>,
    }
}

diesel::table! {
    pk_text (code) {
        code -> Nullable<Text>,
        label -> Nullable<Text>,
    }
}

diesel::table! {
    plain (rowid) {
        rowid -> Integer,
        label -> Nullable<Text>,
    }
}

diesel::table! {
    shadows_rowid (oid) {
        oid -> Integer,
        rowid -> Nullable<Text>,
        label -> Nullable<Text>,
    }
}

diesel::table! {
    word_counts (word) {
        word -> Text,
        n -> Nullable<Integer>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    pairs,
    pk_not_null,
    pk_text,
    plain,
    shadows_rowid,
    word_counts,
);
