//! Hand-written server specs shared by the unit and end-to-end tests (test builds only).
//!
//! `PETS` is what mcpgen would emit for a small pet store: one tool per feature under test
//! (path/query/header/cookie parameters, JSON/form/multipart/binary bodies, each credential
//! kind, allowlist, redaction, wrapping, an output schema real responses can break).

use crate::spec::*;

const fn arg(name: &'static str) -> ValueSource {
    ValueSource::Argument {
        name,
        default: None,
    }
}

const fn param(
    name: &'static str,
    location: ParamLocation,
    style: ParamStyle,
    explode: bool,
    value: ValueSource,
) -> ParamSpec {
    ParamSpec {
        name,
        location,
        style,
        explode,
        allow_reserved: false,
        value,
    }
}

const fn field(name: &'static str, value: ValueSource) -> BodyField {
    BodyField {
        name,
        value,
        file: false,
        content_type: None,
    }
}

const HINTS: HintsSpec = HintsSpec {
    read_only: true,
    destructive: false,
    idempotent: true,
    open_world: true,
};
const WRITE: HintsSpec = HintsSpec {
    read_only: false,
    destructive: false,
    idempotent: false,
    open_world: true,
};

const NO_OUTPUT: OutputSpec = OutputSpec {
    schema: None,
    wrap: None,
    allow: &[],
    redact: &[],
};

/// GET /pets/{pet_id}: every parameter location, defaults, fixed and env values, API key header.
pub static GET_PET: ToolSpec = ToolSpec {
    name: "get_pet",
    title: Some("Get a pet"),
    description: "Returns one pet.",
    operation: OperationSpec {
        id: Some("getPet"),
        method: HttpMethod::Get,
        path: "/pets/{pet_id}",
    },
    input_schema: r#"{"type":"object","properties":{
        "pet_id":{"type":"string"},
        "fields":{"type":"array","items":{"type":"string"}},
        "verbose":{"type":"boolean"},
        "trace":{"type":"string"},
        "session":{"type":"string"}
    },"required":["pet_id"],"additionalProperties":false}"#,
    output: OutputSpec {
        schema: Some(
            r#"{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},
            "owner":{"type":"object","properties":{"email":{"type":"string"},"card":{"type":"string"}}}},
            "required":["id","name"]}"#,
        ),
        wrap: None,
        allow: &["/id", "/name", "/owner"],
        redact: &[
            RedactionSpec {
                path: "/owner/email",
                action: RedactAction::Remove,
            },
            RedactionSpec {
                path: "/owner/card",
                action: RedactAction::Mask { keep_last: 4 },
            },
        ],
    },
    params: &[
        param(
            "pet_id",
            ParamLocation::Path,
            ParamStyle::Simple,
            false,
            arg("pet_id"),
        ),
        param(
            "fields",
            ParamLocation::Query,
            ParamStyle::Form,
            false,
            arg("fields"),
        ),
        param(
            "verbose",
            ParamLocation::Query,
            ParamStyle::Form,
            true,
            ValueSource::Argument {
                name: "verbose",
                default: Some("false"),
            },
        ),
        param(
            "format",
            ParamLocation::Query,
            ParamStyle::Form,
            true,
            ValueSource::Fixed { json: r#""json""# },
        ),
        param(
            "tenant",
            ParamLocation::Query,
            ParamStyle::Form,
            true,
            ValueSource::Env { var: "PETS_TENANT" },
        ),
        param(
            "X-Trace",
            ParamLocation::Header,
            ParamStyle::Simple,
            false,
            arg("trace"),
        ),
        param(
            "session",
            ParamLocation::Cookie,
            ParamStyle::Form,
            true,
            arg("session"),
        ),
    ],
    body: None,
    accept: "application/json",
    credentials: &["api_key"],
    scopes: &[],
    hints: HINTS,
    confirm: false,
};

/// GET /pets: a JSON array wrapped as `{ "items": [...] }`, allowlist with wildcards, masking.
pub static LIST_PETS: ToolSpec = ToolSpec {
    name: "list_pets",
    title: None,
    description: "Lists pets.",
    operation: OperationSpec {
        id: None,
        method: HttpMethod::Get,
        path: "/pets",
    },
    input_schema: r#"{"type":"object","properties":{"limit":{"type":"integer","minimum":1}}}"#,
    output: OutputSpec {
        schema: Some(
            r#"{"type":"object","properties":{"items":{"type":"array","items":{"type":"object",
            "properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id","name"]}}},
            "required":["items"]}"#,
        ),
        wrap: Some("items"),
        allow: &["/*/id", "/*/name", "/*/chip"],
        redact: &[RedactionSpec {
            path: "/*/chip",
            action: RedactAction::Mask { keep_last: 3 },
        }],
    },
    params: &[param(
        "limit",
        ParamLocation::Query,
        ParamStyle::Form,
        true,
        arg("limit"),
    )],
    body: None,
    accept: "application/json",
    credentials: &["api_key"],
    scopes: &[],
    hints: HINTS,
    confirm: false,
};

/// POST /pets: a JSON body assembled from fields (one fixed), bearer token.
pub static CREATE_PET: ToolSpec = ToolSpec {
    name: "create_pet",
    title: None,
    description: "Creates a pet.",
    operation: OperationSpec {
        id: Some("createPet"),
        method: HttpMethod::Post,
        path: "/pets",
    },
    input_schema: r#"{"type":"object","properties":{"name":{"type":"string","minLength":1},
        "tags":{"type":"array","items":{"type":"string"}}},"required":["name"]}"#,
    output: NO_OUTPUT,
    params: &[],
    body: Some(BodySpec {
        media_type: "application/json",
        encoding: BodyEncoding::Json,
        required: true,
        value: BodyValue::Fields(&[
            field("name", arg("name")),
            field("tags", arg("tags")),
            field("source", ValueSource::Fixed { json: r#""mcp""# }),
        ]),
    }),
    accept: "application/json",
    credentials: &["bearer"],
    scopes: &[],
    hints: WRITE,
    confirm: false,
};

/// POST /login: a form body, HTTP Basic plus an API key in the query.
pub static LOGIN: ToolSpec = ToolSpec {
    name: "login",
    title: None,
    description: "Logs in.",
    operation: OperationSpec {
        id: Some("login"),
        method: HttpMethod::Post,
        path: "/login",
    },
    input_schema: r#"{"type":"object","properties":{"user":{"type":"string"},"pass":{"type":"string"}},
        "required":["user","pass"]}"#,
    output: NO_OUTPUT,
    params: &[],
    body: Some(BodySpec {
        media_type: "application/x-www-form-urlencoded",
        encoding: BodyEncoding::Form,
        required: true,
        value: BodyValue::Fields(&[field("user", arg("user")), field("pass", arg("pass"))]),
    }),
    accept: "text/plain",
    credentials: &["basic", "query_key"],
    scopes: &[],
    hints: WRITE,
    confirm: false,
};

/// POST /pets/{pet_id}/photo: multipart with a file part, a text part and a JSON part.
pub static UPLOAD_PHOTO: ToolSpec = ToolSpec {
    name: "upload_photo",
    title: None,
    description: "Uploads a photo.",
    operation: OperationSpec {
        id: Some("uploadPhoto"),
        method: HttpMethod::Post,
        path: "/pets/{pet_id}/photo",
    },
    input_schema: r#"{"type":"object","properties":{"pet_id":{"type":"integer"},
        "photo":{"type":"string","description":"base64 or data: URI"},"caption":{"type":"string"},
        "meta":{"type":"object"}},"required":["pet_id","photo"]}"#,
    output: NO_OUTPUT,
    params: &[param(
        "pet_id",
        ParamLocation::Path,
        ParamStyle::Simple,
        false,
        arg("pet_id"),
    )],
    body: Some(BodySpec {
        media_type: "multipart/form-data",
        encoding: BodyEncoding::Multipart,
        required: true,
        value: BodyValue::Fields(&[
            BodyField {
                name: "photo",
                value: arg("photo"),
                file: true,
                content_type: None,
            },
            field("caption", arg("caption")),
            field("meta", arg("meta")),
        ]),
    }),
    accept: "application/json",
    credentials: &["cookie_key"],
    scopes: &[],
    hints: WRITE,
    confirm: false,
};

/// PUT /files/{name}: a binary body from one base64 argument; returns whatever the upstream sends.
pub static PUT_FILE: ToolSpec = ToolSpec {
    name: "put_file",
    title: None,
    description: "Stores a file.",
    operation: OperationSpec {
        id: None,
        method: HttpMethod::Put,
        path: "/files/{name}",
    },
    input_schema: r#"{"type":"object","properties":{"name":{"type":"string"},"content":{"type":"string"}},
        "required":["name"]}"#,
    output: NO_OUTPUT,
    params: &[param(
        "name",
        ParamLocation::Path,
        ParamStyle::Simple,
        false,
        arg("name"),
    )],
    body: Some(BodySpec {
        media_type: "application/octet-stream",
        encoding: BodyEncoding::Binary,
        required: true,
        value: BodyValue::Argument { name: "content" },
    }),
    accept: "*/*",
    credentials: &[],
    scopes: &[],
    hints: WRITE,
    confirm: false,
};

/// The pet store server.
pub static PETS: ServerSpec = ServerSpec {
    name: "pets",
    version: "1.2.3",
    title: Some("Pet Store"),
    instructions: Some("Tools for the pet store."),
    upstream: UpstreamSpec {
        base_url: "https://petstore.example.com/v1",
        base_url_env: "PETS_BASE_URL",
        timeout_ms: 5_000,
        max_response_bytes: 64 * 1024,
        credentials: &[
            CredentialSpec {
                id: "api_key",
                kind: CredentialKind::ApiKey {
                    location: ApiKeyLocation::Header,
                    name: "api_key",
                    env: "PETS_API_KEY",
                },
            },
            CredentialSpec {
                id: "bearer",
                kind: CredentialKind::Bearer {
                    env: "PETS_API_KEY",
                },
            },
            CredentialSpec {
                id: "basic",
                kind: CredentialKind::Basic {
                    username_env: "PETS_TENANT",
                    password_env: "PETS_API_KEY",
                },
            },
            CredentialSpec {
                id: "query_key",
                kind: CredentialKind::ApiKey {
                    location: ApiKeyLocation::Query,
                    name: "key",
                    env: "PETS_API_KEY",
                },
            },
            CredentialSpec {
                id: "cookie_key",
                kind: CredentialKind::ApiKey {
                    location: ApiKeyLocation::Cookie,
                    name: "sid",
                    env: "PETS_API_KEY",
                },
            },
            CredentialSpec {
                id: "unused",
                kind: CredentialKind::Bearer { env: "NEVER_READ" },
            },
        ],
    },
    tools: &[
        &CREATE_PET,
        &GET_PET,
        &LIST_PETS,
        &LOGIN,
        &PUT_FILE,
        &UPLOAD_PHOTO,
    ],
};

/// The tool of `PETS` with this name.
pub fn tool(name: &str) -> &'static ToolSpec {
    PETS.tools
        .iter()
        .find(|t| t.name == name)
        .copied()
        .unwrap_or_else(|| panic!("no tool {name} in PETS"))
}
