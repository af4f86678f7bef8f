// @generated automatically by Diesel CLI.

diesel::table! {
    accounts (id) {
        id -> BigInt,
        owner_id -> Nullable<Integer>,
        code_id -> Nullable<Integer>,
        legacy_id -> Nullable<Integer>,
        visits -> Integer,
        big -> Nullable<BigInt>,
    }
}

diesel::table! {
    codes (code) {
        code -> Integer,
    }
}

diesel::table! {
    legacy (id) {
        id -> Integer,
    }
}

diesel::table! {
    notes (rowid) {
        rowid -> BigInt,
        body -> Nullable<Text>,
    }
}

diesel::table! {
    owners (id) {
        id -> BigInt,
        name -> Nullable<Text>,
    }
}

diesel::joinable!(accounts -> codes (code_id));
diesel::joinable!(accounts -> legacy (legacy_id));
diesel::joinable!(accounts -> owners (owner_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    codes,
    legacy,
    notes,
    owners,
);
