/*
 * pbjson: JSON <-> protobuf-c messages, driven only by descriptor reflection.
 *
 * Works for any generated message type (proto2 or proto3). Keys are the field names as written in
 * the .proto (snake_case, not lowerCamelCase). The mapping follows protobuf's JSON mapping except
 * that int64/uint64 values are written as JSON integers (a uint64 above INT64_MAX as a decimal
 * string); on input, every integer may also be given as a decimal string.
 */
#ifndef FW_PBJSON_H
#define FW_PBJSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/*
 * Parse the JSON object obj into a new message of type d.
 *
 * Returns a message allocated with malloc, to be freed with
 * protobuf_c_message_free_unpacked(msg, NULL). On failure returns NULL and writes a one-line
 * reason to err (if err is not NULL and errlen > 0) that starts with the path of the offending
 * field, e.g. `sale.lines[1].qty_milli: expected an integer, got string "x"`.
 *
 * Input rules:
 *  - integers: JSON integers, integral reals (2.0) or decimal strings ("-12"); a value out of
 *    range for the field's width is an error;
 *  - float/double: JSON numbers, numeric strings, "NaN", "Infinity", "-Infinity";
 *  - enums: the value name as in the .proto ("CASH") or any int32 number (proto3 enums are open,
 *    so a number without a name is kept as is);
 *  - bool: true/false; string: JSON string without NUL; bytes: base64 (standard or URL-safe
 *    alphabet, padding optional);
 *  - message: JSON object; repeated: JSON array; null (as a field value) leaves the default;
 *  - a key that names no field is an error ("did you mean ..." when one is close), and so is
 *    setting two members of one oneof.
 */
ProtobufCMessage *pbjson_parse(const ProtobufCMessageDescriptor *d, const json_t *obj, char *err,
                               size_t errlen) __attribute__((warn_unused_result));

/* Same as pbjson_parse, from text holding exactly one JSON object (duplicate keys rejected). */
ProtobufCMessage *pbjson_parse_str(const ProtobufCMessageDescriptor *d, const char *text, char *err,
                                   size_t errlen) __attribute__((warn_unused_result));

/*
 * Convert m to a new JSON object (a new reference; json_decref it).
 *
 * Proto3 fields equal to their default (0, false, "", empty bytes, unset message, empty repeated)
 * are omitted unless include_defaults is true; proto2 optional fields are emitted when present
 * (or always with include_defaults); a set oneof member is always emitted. Enums are written as
 * their name (the number if it has no name), bytes as standard base64 with padding, non-finite
 * floats as "NaN"/"Infinity"/"-Infinity", strings that are not valid UTF-8 with U+FFFD in place
 * of the bad bytes. Unknown fields kept by the decoder are not written.
 *
 * Returns NULL only if m is NULL or memory runs out.
 */
json_t *pbjson_from_message(const ProtobufCMessage *m, int include_defaults)
    __attribute__((warn_unused_result));

#endif /* FW_PBJSON_H */
