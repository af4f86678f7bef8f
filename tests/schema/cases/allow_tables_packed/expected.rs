// @generated automatically by Diesel CLI.

diesel::table! {
    alpha (id) {
        id -> Integer,
    }
}

diesel::table! {
    bravo (id) {
        id -> Integer,
    }
}

diesel::table! {
    charlie (id) {
        id -> Integer,
    }
}

diesel::table! {
    delta (id) {
        id -> Integer,
    }
}

diesel::table! {
    echo (id) {
        id -> Integer,
    }
}

diesel::table! {
    foxtrot (id) {
        id -> Integer,
    }
}

diesel::table! {
    golf (id) {
        id -> Integer,
    }
}

diesel::table! {
    hotel (id) {
        id -> Integer,
    }
}

diesel::table! {
    india (id) {
        id -> Integer,
    }
}

diesel::table! {
    juliett (id) {
        id -> Integer,
    }
}

diesel::table! {
    kilo (id) {
        id -> Integer,
    }
}

diesel::table! {
    lima (id) {
        id -> Integer,
    }
}

diesel::table! {
    mike (id) {
        id -> Integer,
    }
}

diesel::table! {
    november (id) {
        id -> Integer,
    }
}

diesel::table! {
    oscar (id) {
        id -> Integer,
    }
}

diesel::table! {
    papa (id) {
        id -> Integer,
    }
}

diesel::table! {
    quebec (id) {
        id -> Integer,
    }
}

diesel::table! {
    romeo (id) {
        id -> Integer,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    alpha, bravo, charlie, delta, echo, foxtrot, golf, hotel, india, juliett, kilo, lima, mike,
    november, oscar, papa, quebec, romeo,
);
