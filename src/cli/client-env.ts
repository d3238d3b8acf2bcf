/** Environment variables the client commands read when their flag is not given. */
export const URL_ENV = "YOI_RUNTIME_URL";
export const TOKEN_ENV = "YOI_RUNTIME_TOKEN";
