//! Hand-written server specs shared by the runtime's unit tests (`crate::testing_specs`) and its
//! suites in `runtime/tests/` (each includes this file by path, next to a `use` of `spec`).
//!
//! `PETS` is what mcpgen would emit for a small pet store: one tool per feature under test
//! (path/query/header/cookie parameters, JSON/form/multipart/binary bodies, each credential
//! kind, allowlist, redaction, wrapping, an output schema real responses can break).

use super::spec::*;

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

/// Contract version of every test tool.
pub const CONTRACT: &str = "test-contract-1";

const NO_OUTPUT: OutputSpec = OutputSpec::NONE;

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
    input_schema: SchemaText::Inline(
        r#"{"type":"object","properties":{
        "pet_id":{"type":"string"},
        "fields":{"type":"array","items":{"type":"string"}},
        "verbose":{"type":"boolean"},
        "trace":{"type":"string"},
        "session":{"type":"string"}
    },"required":["pet_id"],"additionalProperties":false}"#,
    ),
    output: OutputSpec {
        schema: Some(SchemaText::Inline(
            r#"{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},
            "owner":{"type":"object","properties":{"email":{"type":"string"},"card":{"type":"string"}}}},
            "required":["id","name"]}"#,
        )),
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
        names: NameRules {
            keep: Some(&["card", "code", "email", "id", "message", "name", "owner"]),
            drop: &["card", "email"],
        },
        max_result_tokens: None,
        narrow_with: &[],
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
    scopes: &["pets:read"],
    hints: HINTS,
    confirm: false,
    identity: IdentityMode::ServiceAccount,
    contract: CONTRACT,
    spec_input_schema: None,
    nulls_absent: false,
    escalation: None,
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
    input_schema: SchemaText::Inline(
        r#"{"type":"object","properties":{"limit":{"type":"integer","minimum":1}}}"#,
    ),
    output: OutputSpec {
        schema: Some(SchemaText::Inline(
            r#"{"type":"object","properties":{"items":{"type":"array","items":{"type":"object",
            "properties":{"id":{"type":"integer"},"name":{"type":"string"},"chip":{"type":["string","null"]}},
            "required":["id","name"]}}},
            "required":["items"]}"#,
        )),
        wrap: Some("items"),
        allow: &["/*/id", "/*/name", "/*/chip"],
        redact: &[RedactionSpec {
            path: "/*/chip",
            action: RedactAction::Mask { keep_last: 3 },
        }],
        names: NameRules {
            keep: Some(&["chip", "code", "id", "message", "name"]),
            drop: &["chip"],
        },
        max_result_tokens: None,
        narrow_with: &["limit"],
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
    identity: IdentityMode::ServiceAccount,
    contract: CONTRACT,
    spec_input_schema: None,
    nulls_absent: false,
    escalation: None,
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
    input_schema: SchemaText::Inline(
        r#"{"type":"object","properties":{"name":{"type":"string","minLength":1},
        "tags":{"type":"array","items":{"type":"string"}}},"required":["name"]}"#,
    ),
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
    scopes: &["pets:write"],
    hints: WRITE,
    confirm: false,
    identity: IdentityMode::ServiceAccount,
    contract: CONTRACT,
    spec_input_schema: None,
    nulls_absent: false,
    escalation: None,
};

/// PUT /pets/{id}: one argument sent in the path and in the JSON body (mcpgen pairs a path
/// parameter with the required body member of the same name). Not in `PETS`, whose tools other
/// tests list.
pub static REPLACE_PET: ToolSpec = ToolSpec {
    name: "replace_pet",
    title: None,
    description: "Replaces a pet.",
    operation: OperationSpec {
        id: Some("replacePet"),
        method: HttpMethod::Put,
        path: "/pets/{id}",
    },
    input_schema: SchemaText::Inline(
        r#"{"type":"object","properties":{"id":{"type":"string"},
        "name":{"type":"string"}},"required":["id","name"]}"#,
    ),
    output: NO_OUTPUT,
    params: &[param(
        "id",
        ParamLocation::Path,
        ParamStyle::Simple,
        false,
        arg("id"),
    )],
    body: Some(BodySpec {
        media_type: "application/json",
        encoding: BodyEncoding::Json,
        required: true,
        value: BodyValue::Fields(&[field("id", arg("id")), field("name", arg("name"))]),
    }),
    accept: "application/json",
    credentials: &["bearer"],
    scopes: &["pets:write"],
    hints: WRITE,
    confirm: false,
    identity: IdentityMode::ServiceAccount,
    contract: CONTRACT,
    spec_input_schema: None,
    nulls_absent: false,
    escalation: None,
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
    input_schema: SchemaText::Inline(
        r#"{"type":"object","properties":{"user":{"type":"string"},"pass":{"type":"string"}},
        "required":["user","pass"]}"#,
    ),
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
    identity: IdentityMode::ServiceAccount,
    contract: CONTRACT,
    spec_input_schema: None,
    nulls_absent: false,
    escalation: None,
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
    input_schema: SchemaText::Inline(
        r#"{"type":"object","properties":{"pet_id":{"type":"integer"},
        "photo":{"type":"string","description":"base64 or data: URI"},"caption":{"type":"string"},
        "meta":{"type":"object"}},"required":["pet_id","photo"]}"#,
    ),
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
    identity: IdentityMode::ServiceAccount,
    contract: CONTRACT,
    spec_input_schema: None,
    nulls_absent: false,
    escalation: None,
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
    input_schema: SchemaText::Inline(
        r#"{"type":"object","properties":{"name":{"type":"string"},"content":{"type":"string"}},
        "required":["name"]}"#,
    ),
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
    identity: IdentityMode::ServiceAccount,
    contract: CONTRACT,
    spec_input_schema: None,
    nulls_absent: false,
    escalation: None,
};

/// DELETE /pets/{pet_id}: destructive, needs a human's confirmation and `pets:write`, with its
/// own escalation text; a fixed query value and an env header that dry runs must mask.
pub static DELETE_PET: ToolSpec = ToolSpec {
    name: "delete_pet",
    title: None,
    description: "Deletes a pet.",
    operation: OperationSpec {
        id: Some("deletePet"),
        method: HttpMethod::Delete,
        path: "/pets/{pet_id}",
    },
    input_schema: SchemaText::Inline(
        r#"{"type":"object","properties":{"pet_id":{"type":"string"},
        "reason":{"type":"string"},"confirmation_token":{"type":"string"}},
        "required":["pet_id"],"additionalProperties":false}"#,
    ),
    output: NO_OUTPUT,
    params: &[
        param(
            "pet_id",
            ParamLocation::Path,
            ParamStyle::Simple,
            false,
            arg("pet_id"),
        ),
        param(
            "reason",
            ParamLocation::Query,
            ParamStyle::Form,
            true,
            arg("reason"),
        ),
        param(
            "audit_tag",
            ParamLocation::Query,
            ParamStyle::Form,
            true,
            ValueSource::Fixed {
                json: r#""hidden-tag-77""#,
            },
        ),
        param(
            "X-Tenant",
            ParamLocation::Header,
            ParamStyle::Simple,
            false,
            ValueSource::Env { var: "PETS_TENANT" },
        ),
    ],
    body: None,
    accept: "application/json",
    credentials: &["api_key"],
    scopes: &["pets:write"],
    hints: HintsSpec {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: true,
    },
    confirm: true,
    identity: IdentityMode::ServiceAccount,
    contract: CONTRACT,
    spec_input_schema: None,
    nulls_absent: false,
    escalation: Some("To delete pets, ask the pet store team in #pets-access."),
};

/// The pet store server.
pub static PETS: ServerSpec = ServerSpec {
    name: "pets",
    version: "1.2.3",
    title: Some("Pet Store"),
    instructions: Some("Tools for the pet store."),
    contract: None,
    upstream: UpstreamSpec {
        base_url: "https://petstore.example.com/v1",
        base_url_env: "PETS_BASE_URL",
        timeout_ms: 5_000,
        max_response_bytes: 64 * 1024,
        oauth: None,
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
        &DELETE_PET,
        &GET_PET,
        &LIST_PETS,
        &LOGIN,
        &PUT_FILE,
        &UPLOAD_PHOTO,
    ],
    scopes: &["pets:read", "pets:write"],
    limits: LIMITS,
    escalation: Some("Ask #platform-access for more access."),
};

/// Generous limits for tests.
pub const LIMITS: LimitsSpec = LimitsSpec {
    max_request_bytes: 1024 * 1024,
    calls_per_minute: 0,
    max_concurrent_calls: 0,
    max_result_tokens: 20_000,
};

/// A tool of [`OAUTH_PETS`]: GET /me with `identity`, a bearer credential (replaced by the
/// identity's token) and an API key in the query (still sent).
const fn whoami(name: &'static str, identity: IdentityMode) -> ToolSpec {
    ToolSpec {
        name,
        title: None,
        description: "Who the upstream thinks is calling.",
        operation: OperationSpec {
            id: None,
            method: HttpMethod::Get,
            path: "/me",
        },
        input_schema: SchemaText::Inline(r#"{"type":"object"}"#),
        output: NO_OUTPUT,
        params: &[],
        body: None,
        accept: "application/json",
        credentials: &["bearer", "query_key"],
        scopes: &["pets:read"],
        hints: HINTS,
        confirm: false,
        identity,
        contract: CONTRACT,
        spec_input_schema: None,
        nulls_absent: false,
        escalation: None,
    }
}

/// Client credentials.
pub static WHOAMI_CC: ToolSpec = whoami("whoami_cc", IdentityMode::ClientCredentials);
/// Token exchange.
pub static WHOAMI_EXCHANGE: ToolSpec = whoami("whoami_exchange", IdentityMode::TokenExchange);
/// Passthrough.
pub static WHOAMI_PASS: ToolSpec = whoami("whoami_pass", IdentityMode::Passthrough);
/// The service account.
pub static WHOAMI_SA: ToolSpec = whoami("whoami_sa", IdentityMode::ServiceAccount);

/// A server whose tools use each upstream identity mode.
pub static OAUTH_PETS: ServerSpec = ServerSpec {
    name: "oauth-pets",
    version: "0.1.0",
    title: None,
    instructions: None,
    contract: None,
    upstream: UpstreamSpec {
        base_url: "https://petstore.example.com/v1",
        base_url_env: "",
        timeout_ms: 5_000,
        max_response_bytes: 64 * 1024,
        credentials: &[
            CredentialSpec {
                id: "bearer",
                kind: CredentialKind::Bearer {
                    env: "PETS_API_KEY",
                },
            },
            CredentialSpec {
                id: "query_key",
                kind: CredentialKind::ApiKey {
                    location: ApiKeyLocation::Query,
                    name: "key",
                    env: "PETS_QUERY_KEY",
                },
            },
        ],
        oauth: Some(OAuthClientSpec {
            token_url: "https://id.petstore.example.com/token",
            client_id_env: "PETS_CLIENT_ID",
            client_secret_env: "PETS_CLIENT_SECRET",
            scopes: &["pets:read", "pets:write"],
            audience: Some("https://petstore.example.com"),
        }),
    },
    tools: &[&WHOAMI_CC, &WHOAMI_EXCHANGE, &WHOAMI_PASS, &WHOAMI_SA],
    scopes: &["pets:read"],
    limits: LIMITS,
    escalation: None,
};

/// The tool of `PETS` with this name.
pub fn tool(name: &str) -> &'static ToolSpec {
    PETS.tools
        .iter()
        .find(|t| t.name == name)
        .copied()
        .unwrap_or_else(|| panic!("no tool {name} in PETS"))
}

/// A read-only GET tool.
pub fn tool_spec(
    name: &'static str,
    input_schema: &'static str,
    confirm: bool,
    params: &'static [ParamSpec],
) -> ToolSpec {
    ToolSpec {
        name,
        title: None,
        description: "t",
        operation: OperationSpec {
            id: None,
            method: HttpMethod::Get,
            path: "/x",
        },
        input_schema: SchemaText::Inline(input_schema),
        output: OutputSpec::NONE,
        params,
        body: None,
        accept: "",
        credentials: &[],
        scopes: &[],
        hints: HintsSpec {
            read_only: true,
            destructive: false,
            idempotent: true,
            open_world: false,
        },
        confirm,
        identity: IdentityMode::ServiceAccount,
        contract: "c",
        spec_input_schema: None,
        nulls_absent: false,
        escalation: None,
    }
}

/// A server of `tools` whose contract text is `contract`.
pub fn server_with(
    contract: Option<&'static str>,
    tools: Vec<&'static ToolSpec>,
) -> &'static ServerSpec {
    Box::leak(Box::new(ServerSpec {
        name: "many",
        version: "0",
        title: None,
        instructions: None,
        contract,
        upstream: UpstreamSpec {
            base_url: "http://x",
            base_url_env: "",
            timeout_ms: 1,
            max_response_bytes: 1,
            credentials: &[],
            oauth: None,
        },
        tools: Box::leak(tools.into_boxed_slice()),
        scopes: &[],
        limits: LIMITS,
        escalation: None,
    }))
}
