package com.example.authcore.app.authenticator

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardCapitalization
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp

/** "Can't scan image?": the activation code and server URL shown under the QR code on the computer. */
@Composable
fun ManualEntryScreen(
    error: String?,
    busy: Boolean,
    onActivate: (activationCode: String, serverUrl: String) -> Unit,
    onClose: () -> Unit,
) {
    var code by remember { mutableStateOf("") }
    var url by remember { mutableStateOf("https://") }
    Column(Modifier.fillMaxWidth().padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        TextButton(onClick = onClose) { Text("Back") }
        Text("Enter the activation code", style = MaterialTheme.typography.headlineSmall)
        if (error != null) Text(error, color = MaterialTheme.colorScheme.error)
        OutlinedTextField(
            value = code,
            onValueChange = { code = it },
            label = { Text("Activation code (7K3M-Q9XA-R2TD)") },
            singleLine = true,
            keyboardOptions = KeyboardOptions(capitalization = KeyboardCapitalization.Characters),
            modifier = Modifier.fillMaxWidth(),
        )
        OutlinedTextField(
            value = url,
            onValueChange = { url = it },
            label = { Text("Server URL") },
            singleLine = true,
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Uri),
            modifier = Modifier.fillMaxWidth(),
        )
        // The core normalises the code (case, separators) and checks both fields.
        Button(onClick = { onActivate(code, url) }, enabled = !busy) { Text("Activate") }
    }
}
