using Microsoft.Data.Sqlite;

namespace Dmuc.LoadTest.Servers;

/// <summary>
/// The SQLite file in which Prosody's muc_mam keeps room archives (mod_storage_sql's <c>prosodyarchive</c> table), and
/// a way to grow it: Prosody with muc_mam takes only tens of messages a second here (it stores each one in its single
/// thread), so filling 100,000 through the room would take an hour. Copies of the messages the room archived itself are
/// as real to a MAM query as the originals: same rows, with a key (the stanza id) of their own.
/// </summary>
internal static class ProsodyArchiveStore
{
    public static string DatabasePath(XmppHostSettings host) => Path.Combine(host.WorkDirectory, "archive.sqlite");

    /// <summary>
    /// How many messages the room archive holds. Prosody without its SQLite driver (lua-dbi-sqlite3) runs the room on without
    /// archiving anything, so an archived run checks this rather than measure a MUC that stored nothing.
    /// </summary>
    public static async Task<long> CountAsync(XmppHostSettings host, CancellationToken cancellationToken)
    {
        if (!File.Exists(DatabasePath(host))) return 0;
        await using var connection = await OpenAsync(host, cancellationToken);
        return await CountAsync(connection, cancellationToken);
    }

    /// <summary>Copies the room archive's rows, oldest first and round after round, until it holds
    /// <paramref name="total"/> messages; returns how many it copied.</summary>
    public static async Task<long> GrowAsync(XmppHostSettings host, long total, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(host, cancellationToken);
        var archived = await CountAsync(connection, cancellationToken);
        if (archived == 0) throw new InvalidOperationException("Prosody archived nothing to copy");
        var missing = total - archived;
        if (missing <= 0) return 0;
        await ExecuteAsync(connection, $"""
            WITH RECURSIVE round(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM round WHERE n < {missing / archived + 1})
            INSERT INTO prosodyarchive (host, user, store, "when", "with", type, key, value)
            SELECT host, user, store, "when", "with", type, key || '-copy' || n, value
            FROM prosodyarchive, round WHERE store = 'muc_log'
            ORDER BY n, sort_id LIMIT {missing}
            """, cancellationToken);
        return missing;
    }

    private static async Task<SqliteConnection> OpenAsync(XmppHostSettings host, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection($"Data Source={DatabasePath(host)}");
        await connection.OpenAsync(cancellationToken);
        // Prosody holds the file open and writes to it: wait for its lock rather than fail.
        await ExecuteAsync(connection, "PRAGMA busy_timeout = 30000", cancellationToken);
        return connection;
    }

    private static async Task<long> CountAsync(SqliteConnection connection, CancellationToken cancellationToken) =>
        Convert.ToInt64(await ScalarAsync(connection, "SELECT COUNT(*) FROM prosodyarchive WHERE store = 'muc_log'", cancellationToken));

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new SqliteCommand(sql, connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new SqliteCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken);
    }
}
