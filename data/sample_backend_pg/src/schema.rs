// @generated automatically by Diesel CLI.

diesel::table! {
    message_log (id) {
        id -> Int4,
        user_id -> Int4,
        direction -> Text,
        channel -> Text,
        body_preview -> Text,
        status -> Text,
        sent_at -> Int8,
    }
}

diesel::table! {
    oauth_connections (id) {
        id -> Int4,
        user_id -> Int4,
        provider -> Text,
        external_account_id -> Text,
        access_token_encrypted -> Text,
        refresh_token_encrypted -> Nullable<Text>,
        scopes -> Text,
        expires_at -> Int8,
        created_at -> Int8,
    }
}

diesel::table! {
    user_settings (id) {
        id -> Int4,
        user_id -> Int4,
        timezone -> Text,
        notify_by_email -> Bool,
        notify_by_sms -> Bool,
        quiet_hours_start -> Nullable<Int4>,
        quiet_hours_end -> Nullable<Int4>,
        updated_at -> Int8,
        locale -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Int4,
        email -> Text,
        display_name -> Text,
        phone_number -> Nullable<Text>,
        password_hash -> Text,
        created_at -> Int8,
        updated_at -> Int8,
    }
}

diesel::joinable!(message_log -> users (user_id));
diesel::joinable!(oauth_connections -> users (user_id));
diesel::joinable!(user_settings -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(message_log, oauth_connections, user_settings, users,);
