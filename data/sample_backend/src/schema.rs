// @generated automatically by Diesel CLI.

diesel::table! {
    message_log (id) {
        id -> Integer,
        user_id -> Integer,
        direction -> Text,
        channel -> Text,
        body_preview -> Text,
        status -> Text,
        sent_at -> Integer,
    }
}

diesel::table! {
    oauth_connections (id) {
        id -> Integer,
        user_id -> Integer,
        provider -> Text,
        external_account_id -> Text,
        access_token_encrypted -> Text,
        refresh_token_encrypted -> Nullable<Text>,
        scopes -> Text,
        expires_at -> Integer,
        created_at -> Integer,
    }
}

diesel::table! {
    user_settings (id) {
        id -> Integer,
        user_id -> Integer,
        timezone -> Text,
        notify_by_email -> Bool,
        notify_by_sms -> Bool,
        quiet_hours_start -> Nullable<Integer>,
        quiet_hours_end -> Nullable<Integer>,
        updated_at -> Integer,
        locale -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        email -> Text,
        display_name -> Text,
        phone_number -> Nullable<Text>,
        password_hash -> Text,
        created_at -> Integer,
        updated_at -> Integer,
    }
}

diesel::joinable!(message_log -> users (user_id));
diesel::joinable!(oauth_connections -> users (user_id));
diesel::joinable!(user_settings -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(message_log, oauth_connections, user_settings, users,);
