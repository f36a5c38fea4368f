//! Pagination: cursor, offset, page number, `Link` header and GraphQL `pageInfo`, as one stream.
